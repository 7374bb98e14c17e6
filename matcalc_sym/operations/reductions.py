"""Reductions: sum and mean, of all entries or along an axis (NumPy's `axis=` and `keepdims=`).

A sum along an axis is a product with a ones vector (X𝟙 sums each row, Xᵀ𝟙
each column), so the translation writes it that way and the paper's algebra
reads it; its adjoint broadcasts the upstream gradient back along the axis
that was summed (the adjoint of broadcasting, read backwards).
"""

from __future__ import annotations

import sympy

from ..arrays import Elementwise, Ones, ReduceSum, is_array, ones_row
from ..broadcasting import broadcast_to
from ..errors import ShapeError
from .registry import Operation, register

AXIS = {"axis": None, "keepdims": False}


def normalized_axis(shape: tuple, axis, name: str) -> int | None:
    """`axis` as a non-negative index into `shape` (None: every axis); a ShapeError when out of range."""
    if axis is None:
        return None
    if type(axis) is not int:
        raise ShapeError(f"{name}(): axis= takes a whole number or None")
    index = axis + len(shape) if axis < 0 else axis
    if not 0 <= index < len(shape):
        from ..shapes import show

        raise ShapeError(f"{name}(): axis {axis} is out of range for an array of shape {show(shape)}")
    return index


def reduced_shape(shape: tuple, params: dict, name: str) -> tuple:
    """NumPy's shape of a reduction: the axis removed, or kept as 1 with keepdims."""
    axis = normalized_axis(shape, params.get("axis"), name)
    keep = bool(params.get("keepdims"))
    if axis is None:
        return tuple(sympy.Integer(1) for _ in shape) if keep else ()
    return shape[:axis] + ((sympy.Integer(1),) if keep else ()) + shape[axis + 1:]


def kept_shape(shape: tuple, params: dict, name: str) -> tuple:
    """The reduction's shape with keepdims=True: what the result is broadcast back from."""
    return reduced_shape(shape, {**params, "keepdims": True}, name)


def axis_length(shape: tuple, params: dict, name: str):
    """How many entries each reduced value combines."""
    axis = normalized_axis(shape, params.get("axis"), name)
    if axis is None:
        return sympy.Mul(*shape) if shape else sympy.Integer(1)
    return shape[axis]


def _stored_as(array, numpy_shape: tuple):
    """The package stores a 1-D array as an n×1 column; a (1, n) row is its transpose."""
    if len(numpy_shape) == 2 and numpy_shape[0] == 1 and array.shape[0] != 1:
        return sympy.Transpose(array) if not isinstance(array, Ones) else Ones(1, array.shape[0])
    return array


def _sum_along(arg, arg_shape: tuple, params: dict, name: str):
    """Σ along the axis as a product with ones: X𝟙 (each row), 𝟙ᵀX (each column, kept as a row)."""
    axis = normalized_axis(arg_shape, params.get("axis"), name)
    result = reduced_shape(arg_shape, params, name)
    if axis is None or len(arg_shape) == 1:
        total = ReduceSum(arg)
        return total if not result else sympy.MatMul(total, Ones(1, 1))
    rows, cols = arg.shape
    if axis == 1:
        return sympy.MatMul(arg, Ones(cols, 1))  # (m, 1): the column of row sums, 1-D or kept
    if len(result) == 2:
        return sympy.MatMul(Ones(1, rows), arg)  # (1, n), kept: the row of column sums
    return sympy.MatMul(sympy.Transpose(arg), Ones(rows, 1))  # (n,): the column sums, stored as a column


def _build(name: str, scale):
    def build(args, arg_shapes, shape, params):
        (arg,), (arg_shape,) = args, arg_shapes
        if not is_array(arg):
            return arg
        total = _sum_along(arg, arg_shape, params, name)
        factor = scale(arg_shape, params)
        return total if factor == 1 else sympy.MatMul(factor, total) if is_array(total) else factor * total
    return build


def _grad_back(c, scale):
    """∂J/∂X: the upstream gradient broadcast back along the reduced axis (times 1/count for a mean)."""
    node, operand = c.node, c.node.args[0]
    arg = c.arg(0)
    params = dict(node.value or ())
    factor = scale(operand.shape, params)
    if not is_array(arg):
        return c.grad * factor
    if not is_array(c.grad):
        return Elementwise(c.grad * factor, *arg.shape)
    kept = kept_shape(operand.shape, params, node.op)
    grad = _stored_as(c.grad, kept)
    back = broadcast_to(grad, kept, operand.shape)
    return back if factor == 1 else sympy.MatMul(factor, back)


def _no_scale(shape, params):
    return sympy.Integer(1)


def _mean_scale(shape, params):
    return 1 / axis_length(shape, params, "mean")


register(Operation(
    "sum", kind="reduction", keywords=AXIS, build=_build("sum", _no_scale), classes=(ReduceSum,),
    shape=lambda arg_shapes, params: reduced_shape(arg_shapes[0], params, "sum"),
    value=lambda np, values, expr: np.sum(values[0]),
    code=lambda codes, expr, np: f"{np('sum')}({codes[0]})",
    explicit=lambda values, expr: sum(values[0]),
    jacobians={"ones-row": lambda c: ones_row(c.operand(0).shape[0])},
    vjps={"grad-everywhere": lambda c: _grad_back(c, _no_scale)},
))
register(Operation(
    "mean", kind="reduction", keywords=AXIS, build=_build("mean", _mean_scale),
    shape=lambda arg_shapes, params: reduced_shape(arg_shapes[0], params, "mean"),
    jacobians={"mean-row": lambda c: sympy.MatMul(1 / c.operand(0).shape[0], ones_row(c.operand(0).shape[0]))},
    vjps={"grad-everywhere-mean": lambda c: _grad_back(c, _mean_scale)},
))
