"""The gallery's derivations, one click away on the page (`GET /api/examples`).

The same entries as `docs/build.py`'s PAGES: docs/ and tests/ are not
installed with the package, so `python docs/build.py` writes them to
gallery.json beside this module, and tests/test_docs.py fails when that file
is stale.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources


@dataclass(frozen=True)
class Example:
    page: str
    sentence: str
    text: str
    wrt: str | None = None
    shapes: dict = field(default_factory=dict)
    #: a wrong (or right) answer the example checks with "check my answer"
    answer: str | None = None
    #: "hessian" or "hvp": the example is a second derivative
    second: str | None = None


def _load_gallery() -> tuple[Example, ...]:
    text = resources.files(__package__).joinpath("gallery.json").read_text(encoding="utf-8")
    return tuple(Example(**entry) for entry in json.loads(text))


GALLERY: tuple[Example, ...] = _load_gallery()


def examples_document() -> list[dict]:
    """The gallery as JSON: page title, sentence, text, wrt and shapes of every entry."""
    return [asdict(example) for example in GALLERY]
