"""The `simplify` stage: a readable final form, within a budget.

SymPy's `simplify` takes from a fraction of a second to many seconds on
derivatives of similar size, so it only runs on small expressions; larger ones
get cheap rewrites, and the shortest candidate wins.
"""

from __future__ import annotations

import sympy

#: count_ops above which only cheap rewrites are tried
CHEAP_ONLY = 60
#: count_ops above which nothing is tried (no global rewrite of a large tree)
UNTOUCHED = 400


def _cost(expr: sympy.Basic) -> tuple[int, int]:
    return (sympy.count_ops(expr), len(str(expr)))


def readable(expr: sympy.Basic) -> sympy.Basic:
    """The shortest of a few equivalent forms of `expr`."""
    if isinstance(expr, sympy.MatrixBase):
        return expr.applyfunc(readable)
    size = sympy.count_ops(expr)
    if size > UNTOUCHED:
        return expr
    candidates = [expr]
    if expr.has(sympy.Piecewise):
        candidates.append(sympy.piecewise_fold(expr))
    candidates.append(sympy.factor_terms(expr))
    if not _has_large_power(expr):
        candidates.append(sympy.expand(expr))
    candidates.append(sympy.cancel(expr) if not expr.has(sympy.Piecewise) else expr)
    if size <= CHEAP_ONLY:
        candidates.append(sympy.simplify(expr))
    allowed = _functions(expr)
    candidates = [c for c in candidates if _functions(c) <= allowed]
    best = min(candidates, key=_cost)
    return best if _cost(best) < _cost(expr) else expr


def _functions(expr: sympy.Basic) -> set[type]:
    """Function classes in `expr`: a rewrite must not bring in new ones (sin/cos → tan)."""
    return {type(f) for f in expr.atoms(sympy.Function)}


def _has_large_power(expr: sympy.Basic) -> bool:
    return any(p.exp.is_Integer and abs(p.exp) > 6 and p.base.is_Add for p in expr.atoms(sympy.Pow))
