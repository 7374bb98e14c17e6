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
from sympy.core.sympify import _sympify as as_sympy  # strict: SymPy values and numbers, never text
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import modifier_dict as _latex_modifiers
from sympy.printing.pretty.pretty_symbology import modifier_dict as _pretty_modifiers

from ..simplify import UNTOUCHED, tree_size

#: name endings SymPy's printers turn into accents, fonts or brackets (xdot → ẋ, xbar → x̄, xnorm → ‖x‖)
_MODIFIERS = tuple(sorted(set(_latex_modifiers) | set(_pretty_modifiers), key=len, reverse=True))

#: tree nodes above which an expression counts as large (where simplify stops rewriting, too)
LARGE = UNTOUCHED


def misread(name: str) -> bool:
    """Whether SymPy's printers would show the name as something else: x__2 as x², xdot as ẋ.

    Trailing digits and `_` subscripts (u1 as u₁, x_i as xᵢ) read as the name
    does; a `__` superscript looks like a power and a modifier suffix like a
    time derivative or a mean, so such names print literally.
    """
    base, superscripts, _ = split_super_sub(name)
    if superscripts:
        return True
    lowered = base.lower()
    return any(lowered.endswith(m) and len(base) > len(m) for m in _MODIFIERS)


def is_large(expr) -> bool:
    return isinstance(expr, sympy.Basic) and tree_size(expr, LARGE) > LARGE


def matmul_precedence(item) -> int | None:
    """A matrix product's precedence as SymPy's printers compute it, without building −M; None for the rest.

    SymPy decides whether a product prints with a leading minus by comparing
    M with −M, and −M is `MatMul(−1, M).doit()`, which canonicalizes the
    whole product again, at every parenthesization: most of the time of
    printing a deep network (its JSON took 8× the derivation). A product
    starts with a minus exactly when its leading factor is a negative number.
    """
    from sympy.printing.precedence import PRECEDENCE

    if not isinstance(item, sympy.MatMul):
        return None
    if any(hasattr(a, "precedence") and isinstance(a, sympy.Function) and a.precedence < PRECEDENCE["Mul"]
           for a in item.args):
        return PRECEDENCE["Mul"]
    first = item.args[0]
    return PRECEDENCE["Add"] if first.is_Number and first.is_extended_negative else PRECEDENCE["Mul"]


def fast_precedence(item) -> int:
    """SymPy's `precedence`, with matrix products read off their leading factor (`matmul_precedence`)."""
    from sympy.printing.precedence import precedence

    own = matmul_precedence(item)
    return precedence(item) if own is None else own


def matmul_minus(expr) -> bool:
    """Whether a matrix product prints with a leading minus (SymPy's test, without building −M)."""
    first = expr.args[0]
    return bool(first.is_Number and first.is_extended_negative)


def latex_matmul(printer, expr, space=lambda before, after: " ") -> str:
    """SymPy's LaTeX of a matrix product, its sign and precedence read off the leading factor;
    `space(before, after)` is what stands between two factors."""
    def parens(x):
        if isinstance(x, sympy.Mul) and not isinstance(x, sympy.MatMul):
            return printer._print(x)
        return printer.parenthesize(x, fast_precedence(expr), False)

    args = list(expr.args)
    sign = ""
    if matmul_minus(expr):
        sign, args = "- ", (args[1:] if args[0] == -1 else [-args[0], *args[1:]])
    text = parens(args[0])
    for before, after in zip(args, args[1:]):
        text += space(before, after) + parens(after)
    return sign + text


def str_matmul(printer, expr) -> str:
    """SymPy's one-line matrix product (`sstr`), its precedence read off the leading factor."""
    from sympy.core.mul import _keep_coeff

    c, m = expr.as_coeff_mmul()
    sign = ""
    if c.is_number:
        re, im = c.as_real_imag()
        if (im.is_zero and re.is_negative) or (re.is_zero and im.is_negative):
            expr = _keep_coeff(-c, m)
            sign = "-"
    level = fast_precedence(expr)
    return sign + "*".join([printer.parenthesize(arg, level) for arg in expr.args])


class PrintsEachOnce:
    """Printer mixin: each distinct subexpression printed once per printer.

    A derivation repeats its subexpressions: the steps of a large one share
    terms, and a substituted derivative repeats the definitions it substitutes.
    Remembered, printing is about linear in the distinct subexpressions plus
    the length of the text. Calls with keywords print in a context (a power's
    exponent) and are not remembered; `_memo` gives a table per printer state the
    text depends on.
    """

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self._printed: dict = {}

    def _memo(self) -> dict:
        """Where this printer's texts are remembered; a printer whose text depends on its state
        keeps one table per state."""
        return self._printed

    def parenthesize(self, item, level, *args, **kwargs):
        """SymPy's rule, with a matrix product's precedence read cheaply (`matmul_precedence`)."""
        from sympy.printing.latex import LatexPrinter

        own = matmul_precedence(item)
        if own is None:
            return super().parenthesize(item, level, *args, **kwargs)
        latex = isinstance(self, LatexPrinter)
        if latex:
            is_neg = kwargs.get("is_neg", args[0] if args else False)
            strict = kwargs.get("strict", args[1] if len(args) > 1 else False)
            if is_neg and strict:
                return self._add_parens(self._print(item))
        else:
            strict = kwargs.get("strict", args[0] if args else False)
        if own < level or (not strict and own <= level):
            return self._add_parens(self._print(item)) if latex else f"({self._print(item)})"
        return self._print(item)

    def _print(self, expr, **kwargs):
        if kwargs or not isinstance(expr, sympy.Basic):
            return super()._print(expr, **kwargs)
        memo = self._memo()
        printed = memo.get(expr)
        if printed is None:
            printed = memo[expr] = dispatched(self, expr)
        return printed


def dispatched(printer, expr):
    """What SymPy's `Printer._print` returns for `expr` (no keywords), its method found once per class
    (`print_method`)."""
    method = print_method(type(printer), type(expr))
    printer._print_level += 1
    try:
        return getattr(expr, printer.printmethod)(printer) if method is None else getattr(printer, method)(expr)
    finally:
        printer._print_level -= 1


#: (printer class, expression class) → the printer's method SymPy dispatches to; None: the expression's own
_PRINT_METHODS: dict[tuple[type, type], str | None] = {}


def print_method(printer: type, kind: type) -> str | None:
    """The method `sympy.printing.Printer._print` picks for an expression of class `kind`, found once.

    SymPy looks it up on every call, walking the class's MRO with a getattr
    per class (and filtering it for functions); that choice depends only on
    the two classes, and was a tenth of printing a long derivation.
    """
    found = _PRINT_METHODS.get((printer, kind), _PRINT_METHODS)
    if found is not _PRINT_METHODS:
        return found
    from sympy.core.function import AppliedUndef, Function, UndefinedFunction

    found = "emptyPrinter"
    if printer.printmethod and hasattr(kind, printer.printmethod):
        found = None
    else:
        classes = kind.__mro__
        if AppliedUndef in classes:
            classes = classes[classes.index(AppliedUndef):]
        if UndefinedFunction in classes:
            classes = classes[classes.index(UndefinedFunction):]
        if Function in classes:
            i = classes.index(Function)
            classes = tuple(c for c in classes[:i] if c.__name__ == classes[0].__name__
                            or c.__name__.endswith("Base")) + classes[i:]
        for cls in classes:
            if getattr(printer, "_print_" + cls.__name__, None) is not None:
                found = "_print_" + cls.__name__
                break
    _PRINT_METHODS[(printer, kind)] = found
    return found


def negative(term) -> bool:
    """A matrix term whose scalar coefficient carries a minus sign (−A, −(1/n)·𝟙𝟙ᵀ)."""

    from ..algebra import split

    coefficient, core = split(term)
    # `coefficient` is a SymPy number or expression from `split`; the strict conversion refuses text
    return core is not None and as_sympy(coefficient).could_extract_minus_sign()


def negated(term):
    """−term, with the sign taken off its coefficient (so it prints after a binary minus)."""
    from ..algebra import join, split

    coefficient, core = split(term)
    return join(-coefficient, core)
