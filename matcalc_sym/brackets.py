"""How deeply brackets nest: one count for the input-language writers and for LaTeX line breaking.

Writing text back (`inputtext`, einsum's operands) asks whether a pair of
parentheses encloses the whole text; breaking LaTeX over rows asks whether a
row leaves a group open or closes one it did not open. Both are the same
walk over the brackets in order.
"""

from __future__ import annotations

from collections.abc import Iterable


def nesting(marks: Iterable[str], opening: str, closing: str) -> tuple[int, int]:
    """(the depth after the last mark, the lowest depth reached) for a sequence of bracket marks."""
    depth = lowest = 0
    for mark in marks:
        if mark == opening:
            depth += 1
        elif mark == closing:
            depth -= 1
            lowest = min(lowest, depth)
    return depth, lowest


def balanced(text: Iterable[str], opening: str = "(", closing: str = ")") -> bool:
    """Every bracket closed, none closed before it was opened."""
    return nesting(text, opening, closing) == (0, 0)
