"""A request to `POST /api/derive`, checked field by field before any work starts.

Everything is validated here, in the server process, so a malformed request
costs no worker: types, sizes, and the choices (layout, mode). Errors name the
field they belong to, so the page can show each under its own input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import MatcalcError

#: the text and the answer are bounded by the request size (app.MAX_BODY) and then by the parser's own
#: limits, so their errors are the command's; wrt and shapes are short by nature
MAX_TEXT = 4 * 1024 * 1024
MAX_FIELD = 2_000
MAX_SHAPES = 200
LAYOUTS = ("auto", "numerator", "denominator")
MODES = ("auto", "forward", "reverse")
#: the second derivatives (`derive(..., hessian=True)` / `hvp=True`); none: the first derivative
SECONDS = ("hessian", "hvp")


class RequestError(MatcalcError):
    """A request field that is missing, of the wrong type, or too long; `field` names the input."""

    def __init__(self, message: str, field: str = "text"):
        super().__init__(message)
        self.field = field

    def __reduce__(self):
        return (type(self), (str(self), self.field))


@dataclass(frozen=True)
class DeriveRequest:
    """The question, as `derive()` takes it."""

    text: str
    wrt: str | None = None
    shapes: dict[str, str] = field(default_factory=dict)
    layout: str = "auto"
    mode: str = "auto"
    answer: str | None = None
    check: bool = False
    second: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"shapes": self.shapes, "layout": self.layout, "mode": self.mode, "answer": self.answer,
                "check": self.check, **({self.second: True} if self.second else {})}


def _string(body: dict, name: str, limit: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise RequestError(f"{name}: write an expression, e.g. sin(x**2)", name)
        return None
    if not isinstance(value, str):
        raise RequestError(f"{name} must be a string", name)
    if len(value) > limit:
        raise RequestError(f"{name} is {len(value)} characters long; at most {limit} are accepted", name)
    return value


def parse_shapes(value: Any) -> dict[str, str]:
    """Shapes as an object {"W": "m,n"} or as text "W=m,n; x=n" (also separated by spaces or new lines)."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, str):
        if len(value) > MAX_FIELD:
            raise RequestError(f"shapes is {len(value)} characters long; at most {MAX_FIELD} are accepted", "shapes")
        items = []
        for item in re.split(r"[;\s]+", value.strip()):
            name, sep, dims = item.partition("=")
            if not sep or not name or not dims:
                raise RequestError(f"shape {item!r}: write NAME=DIMS, e.g. w=n or W=m,n", "shapes")
            items.append((name, dims))
    else:
        raise RequestError("shapes must be an object such as {\"W\": \"m,n\"} or text such as \"W=m,n; x=n\"",
                           "shapes")
    if len(items) > MAX_SHAPES:
        raise RequestError(f"{len(items)} shapes declared; at most {MAX_SHAPES} are accepted", "shapes")
    shapes: dict[str, str] = {}
    for name, dims in items:
        if not isinstance(name, str) or not isinstance(dims, str) or len(dims) > 200 or len(name) > 200:
            raise RequestError("each shape is a name and a short text such as \"m,n\"", "shapes")
        if name in shapes:
            raise RequestError(f"shape of {name!r} is given twice ({shapes[name]} and {dims}); declare each "
                               "name once", "shapes")
        shapes[name] = dims
    return shapes


def parse_request(body: Any) -> DeriveRequest:
    """The JSON body of `POST /api/derive`, checked; `RequestError` names the offending field."""
    if not isinstance(body, dict):
        raise RequestError("the request must be a JSON object such as {\"text\": \"sin(x**2)\"}")
    unknown = sorted(set(body) - {"text", "wrt", "shapes", "layout", "mode", "answer", "check", "second"})
    if unknown:
        raise RequestError(f"unknown field {unknown[0][:40]!r}; the fields are text, wrt, shapes, layout, mode, "
                           "answer, check, second")
    text = _string(body, "text", MAX_TEXT, required=True)
    wrt = _string(body, "wrt", MAX_FIELD)
    answer = _string(body, "answer", MAX_TEXT)
    layout = body.get("layout") or "auto"
    mode = body.get("mode") or "auto"
    if layout not in LAYOUTS:
        raise RequestError(f"layout must be one of {', '.join(LAYOUTS)}", "layout")
    if mode not in MODES:
        raise RequestError(f"mode must be one of {', '.join(MODES)}", "mode")
    check = body.get("check", False)
    if not isinstance(check, bool):
        raise RequestError("check must be true or false", "check")
    second = body.get("second") or None
    if second is not None and second not in SECONDS:
        raise RequestError(f"second must be one of {', '.join(SECONDS)} (or absent for the first derivative)",
                           "second")
    return DeriveRequest(text=text, wrt=wrt.strip() if wrt else None, shapes=parse_shapes(body.get("shapes")),
                         layout=layout, mode=mode, answer=answer, check=check, second=second)
