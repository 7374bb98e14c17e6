"""Which expressions are too large for SymPy's usual printing.

Two costs grow out of proportion on large derivations:

- SymPy's LaTeX printer builds new expressions while it prints a product
  (`fraction()`, a negated product), and building them asks assumptions
  (`is_infinite`, `is_negative`) of every subterm; with real symbols under
  sin and tanh that reaches `as_real_imag` of the whole argument each time.
  The LaTeX printer reads a large product off its factors instead.
- A 2-D layout of thousands of terms is slow to build and cannot be read;
  the terminal writes a large expression in one line, in the input language.
"""

from __future__ import annotations

import sympy

from ..simplify import UNTOUCHED, tree_size

#: tree nodes above which an expression counts as large (where simplify stops rewriting, too)
LARGE = UNTOUCHED


def is_large(expr) -> bool:
    return isinstance(expr, sympy.Basic) and tree_size(expr, LARGE) > LARGE


class PrintsEachOnce:
    """Printer mixin: each distinct subexpression printed once per printer.

    A derivation repeats its subexpressions: the steps of a large one share
    terms, and a substituted derivative repeats the definitions it substitutes.
    Remembered, printing is about linear in the distinct subexpressions plus
    the length of the text. Calls with keywords print in a context (a power's
    exponent) and are not remembered; `_memo_key` adds any printer state the
    text depends on.
    """

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self._printed: dict = {}

    def _memo_key(self, expr):
        return expr

    def _print(self, expr, **kwargs):
        if kwargs or not isinstance(expr, sympy.Basic):
            return super()._print(expr, **kwargs)
        key = self._memo_key(expr)
        printed = self._printed.get(key)
        if printed is None:
            printed = self._printed[key] = super()._print(expr)
        return printed
