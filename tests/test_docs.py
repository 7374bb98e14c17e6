"""The gallery in docs/ is exactly what docs/build.py produces from the current code."""

import importlib.util
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def load_build():
    spec = importlib.util.spec_from_file_location("docs_build", DOCS / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_build"] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


BUILD = load_build()
OUTPUTS = BUILD.outputs()


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_committed_page_is_current(name):
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == OUTPUTS[name], f"docs/{name} is stale: run `python docs/build.py` and commit"


def test_every_design_example_is_in_the_gallery():
    entries = {(e.text, e.wrt) for page in BUILD.PAGES for e in page.entries}
    design = [("sin(x**2)", None), ("log(sin(x**3)**2)", None), ("x + x**2", None), ("sin(x + x**2)", None),
              ("x * x**2", None), ("9*(x + x**2)", None), ("3*x**2*y", "x,y"), ("[3*x**2*y, 2*x + y**8]", "x,y"),
              ("w + x", "w"), ("w - x", "x"), ("w*x", "w"), ("w/x", "x"), ("x + z", "x"), ("x + z", "z"),
              ("x*z", "x"), ("x*z", "z"), ("sum(x)", "x"), ("sum(x*z)", "x"), ("sum(x*z)", "z"),
              ("dot(w, x)", "w"), ("max(0, dot(w, x) + b)", "w"), ("max(0, dot(w, x) + b)", "b"),
              ("[log(x**2), sin(3*x)]", "x"), ("mean((y - max(0, X@w + b))**2)", "w"),
              ("mean((y - max(0, X@w + b))**2)", "b"), ("c = tanh(Wc@cp + Wx@x + b)", "Wx"),
              ("c = tanh(Wc@cp + Wx@x + b)", "b"), (BUILD.NET_TEXT, "Wout, bout, Wh, bh")]
    assert set(design) <= entries


def test_pages_are_linked_from_the_index_and_the_readme():
    index = (DOCS / "index.md").read_text()
    readme = (DOCS.parent / "README.md").read_text()
    for page in BUILD.PAGES:
        assert f"({page.filename})" in index
    assert "docs/index.md" in readme and "docs/terminal-sin.svg" in readme
