"""softmax(z, axis=None): exp(z) / Σ exp(z), over all entries or along an axis (each row for axis=1).

The default is SciPy's (`scipy.special.softmax`): over every entry, which for
a vector is the usual softmax; `axis=1` makes it row-wise, as attention uses
it. Its Jacobian is diag(s) − s sᵀ, and backprop never forms it: the
vector-Jacobian product is s ⊙ (G − Σ s ⊙ G), the sum over the same entries.
"""

from __future__ import annotations

import sympy

from ..arrays import Diag, Elementwise, Ones, ReduceSum, element_of
from .calls import ArrayCall
from .reductions import normalized_axis
from .registry import Operation, register


def stored_axis(operand_shape: tuple, params: dict, name: str) -> int | None:
    """The axis on the stored (2-D) array: a vector has one group whatever axis names it."""
    axis = normalized_axis(operand_shape, params.get("axis"), name)
    return None if len(operand_shape) < 2 else axis


def axis_words(node) -> str:
    """Which entries one application normalizes (or combines), in words, for its step."""
    shape = node.args[0].shape
    if len(shape) < 2:
        return f"over the {shape[0]} entries of the vector" if shape else "of one number"
    axis = stored_axis(shape, dict(node.value or ()), node.op)
    rows, cols = shape
    if axis is None:
        return f"over all {rows}·{cols} entries at once (no axis given)"
    if axis == 1:
        return f"row-wise (axis=1): over each of the {rows} rows, {cols} entries each"
    return f"column-wise (axis=0): down each of the {cols} columns, {rows} entries each"


def _shape(arg_shapes, params):
    stored_axis(arg_shapes[0], params, "softmax")  # refuses an axis out of range
    return arg_shapes[0]


def _build(args, arg_shapes, shape, params):
    (arg,) = args
    if not isinstance(arg, sympy.MatrixExpr):
        return sympy.Integer(1)  # the softmax of one number is 1
    return ArrayCall("softmax", [arg], {"axis": stored_axis(arg_shapes[0], params, "softmax")}, *arg.shape)


def _value(np, values, expr):
    axis = expr.params["axis"]
    shifted = np.exp(values[0] - np.max(values[0], axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _explicit(values, expr):
    matrix, axis = values[0], expr.params["axis"]
    exps = matrix.applyfunc(sympy.exp)
    if axis is None:
        return exps / sum(exps)
    if axis == 1:
        return sympy.Matrix(exps.rows, exps.cols, lambda i, j: exps[i, j] / sum(exps.row(i)))
    return sympy.Matrix(exps.rows, exps.cols, lambda i, j: exps[i, j] / sum(exps.col(j)))


def group_sum(array, axis: int | None):
    """Σ over each softmax group, broadcast back over it: an array of the group's total at every entry."""
    rows, cols = array.shape
    if axis is None:
        return Elementwise(ReduceSum(array), rows, cols)
    if axis == 1:
        return sympy.MatMul(array, Ones(cols, 1), Ones(1, cols))
    return sympy.MatMul(Ones(rows, 1), Ones(1, rows), array)


def _vjp(c):
    """∂J/∂z = s ⊙ G − s ⊙ Σ_group s ⊙ G: s ⊙ (G − Σ s ⊙ G) multiplied out, so that when G divides by s
    (the adjoint of log s) each term cancels on its own and cross-entropy's s·Σy − y appears."""
    s, grad, axis = c.symbol_of[c.node], c.grad, _axis_of(c)
    weighted = Elementwise(element_of(s) * element_of(grad), *s.shape)
    return Elementwise(element_of(weighted) - element_of(s) * element_of(group_sum(weighted, axis)), *s.shape)


def _axis_of(c):
    return stored_axis(c.node.args[0].shape, dict(c.node.value or ()), "softmax")


def _jacobian(c):
    """∂s/∂z = diag(s) − s sᵀ (a vector z: forward mode)."""
    s = c.symbol_of[c.node]
    return sympy.MatAdd(Diag(s), sympy.MatMul(-1, s, sympy.Transpose(s)))


register(Operation(
    "softmax", keywords={"axis": None}, shape=_shape, build=_build,
    value=_value,
    code=lambda codes, expr, np: f"_softmax({codes[0]}, axis={expr.params['axis']!r})",
    explicit=_explicit,
    jacobians={"diag-minus-outer": _jacobian},
    vjps={"softmax-vjp": _vjp},
    detail=axis_words,
))
