"""Case splits stay in the array they index: SymPy's `piecewise_fold`, stopped at array elements.

An element-wise body reads entries at one index: zᵢ > 0 in 𝟙[z > 0] ⊙ g. An
element of a product, (U·where(Wx > 0, Wx, Wx/10))ᵢ, holds a case split of its
own, indexed by the product's summed index j, and sum(where(z > 0, z, 0)) one
indexed by the summed entries. `piecewise_fold` knows nothing of indices: it
lifts every case split it finds, through any expression, to the top. Lifted
out of an array, one entry's condition decides the whole array, a wrong
derivative (and a wrong translation of the input).

SymPy calls `piecewise_fold` by itself, too: every case split built with a
condition that holds another case split (`ExprCondPair`) folds that
condition. So relu(U@where(W@x > 0, W@x, 0.1*(W@x))) was translated as
where(ITE(Wx > 0, UWx > 0, U(Wx/10) > 0), …), whatever the package did
afterwards. `install()` therefore replaces the `piecewise_fold` that SymPy's
piecewise module calls with `fold_cases`, which hides each array, each array
element and each scalar made from whole arrays (sum(·), trace(·)) behind a
symbol while it folds, and restores them after. An expression without the
package's array classes goes to SymPy's own function unchanged.
"""

from __future__ import annotations

import sympy
from sympy.functions.elementary import piecewise as _sympy_piecewise

#: SymPy's own function, before `install()`
sympy_piecewise_fold = _sympy_piecewise.piecewise_fold


def _own_scope(node) -> bool:
    """An array, an element of one, or a scalar of whole arrays (sum(·), trace(·)): indexed on its own."""
    from .arrays import Elem, is_array

    return isinstance(node, Elem) or is_array(node) or any(is_array(a) for a in node.args)


def opaque_arrays(expr: sympy.Basic) -> tuple[sympy.Basic, dict]:
    """`expr` with each array, element and scalar of whole arrays in it as a real Dummy; and the way back."""
    hide: dict = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if not isinstance(node, sympy.Basic):
            continue
        if _own_scope(node):
            hide.setdefault(node, sympy.Dummy("e", real=True))
            continue
        stack.extend(node.args)
    if not hide:
        return expr, {}
    return expr.xreplace(hide), {dummy: node for node, dummy in hide.items()}


def fold_cases(expr, evaluate=True):
    """`piecewise_fold` that never enters an array or an element: each stays one opaque value."""
    if not isinstance(expr, sympy.Basic) or not _has_package_arrays(expr):
        return sympy_piecewise_fold(expr, evaluate=evaluate)
    if _own_scope(expr):
        return expr  # nothing at this level to fold
    hidden, restore = opaque_arrays(expr)
    return sympy_piecewise_fold(hidden, evaluate=evaluate).xreplace(restore)


def _has_package_arrays(expr: sympy.Basic) -> bool:
    from .arrays import Elem, Elementwise, ReduceSum

    return any(isinstance(node, (Elem, Elementwise, ReduceSum)) for node in sympy.preorder_traversal(expr))


def install() -> None:
    """Make SymPy's case-split construction fold with `fold_cases` (idempotent)."""
    _sympy_piecewise.piecewise_fold = fold_cases
