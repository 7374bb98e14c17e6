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
    if _is_array_expression(expr):
        return readable_array(expr)
    size = sympy.count_ops(expr)
    if size > UNTOUCHED:
        return expr
    candidates = [expr]
    if expr.has(sympy.Piecewise):
        candidates.append(relu_on_active_branch(sympy.piecewise_fold(expr)))
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


def _is_array_expression(expr) -> bool:
    from .arrays import Elem, ReduceSum

    return isinstance(expr, sympy.MatrixExpr) or any(
        isinstance(e, (Elem, ReduceSum, sympy.MatrixExpr)) for e in sympy.preorder_traversal(expr))


def readable_array(expr: sympy.Basic) -> sympy.Basic:
    """Array results: simplify each element-wise body, and pull a scalar case split out front.

    SymPy's own simplify recurses without end on matrix expressions, so it
    never sees them: only the scalar bodies of `Elementwise` arrays are
    simplified, and c·M with c piecewise becomes a piecewise matrix.
    """
    from .algebra import join, split
    from .arrays import Elem, Elementwise

    def body(e):
        return Elementwise(_simplify_body(e.body), *e.shape)

    expr = expr.replace(lambda e: isinstance(e, Elementwise), body)
    coefficient, core = split(expr)
    if core is not None and isinstance(coefficient, sympy.Piecewise):
        return sympy.Piecewise(*[(join(value, core), condition) for value, condition in coefficient.args])
    del Elem
    return expr


def _simplify_body(body: sympy.Basic) -> sympy.Basic:
    from .arrays import Elem

    if body.has(sympy.Piecewise):
        body = relu_on_active_branch(sympy.piecewise_fold(body))
    if any(isinstance(e, sympy.MatrixExpr) and not isinstance(e, sympy.MatrixSymbol)
           for a in body.atoms(Elem) for e in sympy.preorder_traversal(a.array)):
        return sympy.factor_terms(body)
    return readable(body)


def relu_on_active_branch(expr: sympy.Basic) -> sympy.Basic:
    """max(0, z) is z on the branch whose condition is z > 0 (and 0 where z ≤ 0)."""
    if not isinstance(expr, sympy.Piecewise):
        return expr
    pieces = []
    for value, condition in expr.args:
        if isinstance(condition, sympy.StrictGreaterThan) and condition.rhs == 0:
            value = value.xreplace({sympy.Max(0, condition.lhs): condition.lhs})
        pieces.append((value, condition))
    return sympy.Piecewise(*pieces)
