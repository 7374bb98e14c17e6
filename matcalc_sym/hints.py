"""Near-miss hints: "did you mean …" for names that are almost right.

A misspelt name is not always an error (an undeclared name is a scalar, a
`wrt` the output does not depend on has derivative 0), so these hints become
notes on the derivation as well as parts of error messages.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x1'?)` when a candidate is close to `name`, else an empty string.

    Case is ignored (`W` for `w` is the commonest slip) and short names get a
    looser cutoff, since one wrong character in `x3` is a third of it.
    """
    by_lower: dict[str, str] = {}
    for candidate in sorted(set(candidates)):
        if candidate != name:
            by_lower.setdefault(candidate.lower(), candidate)
    cutoff = 0.5 if len(name) <= 3 else 0.6
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=cutoff)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def unused_shape_notes(declared: Mapping[str, object] | None, variables: Iterable[str],
                       dimensions: Iterable[str] = ()) -> list[str]:
    """Notes for shapes declared for names the expression never uses (usually a typo)."""
    used = set(variables) | set(dimensions)
    return [f"a shape was declared for {name!r}, which the expression does not use"
            f"{did_you_mean(name, set(variables) - set(declared or ()))}"
            for name in sorted(declared or ()) if name not in used]
