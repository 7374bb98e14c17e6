"""Reductions: sum and mean, of all entries or along an axis (NumPy's `axis=` and `keepdims=`).

A sum along an axis is a product with a ones vector (X𝟙 sums each row, Xᵀ𝟙
each column), so the translation writes it that way and the paper's algebra
reads it; its adjoint broadcasts the upstream gradient back along the axis
that was summed (the adjoint of broadcasting, read backwards).

The other reductions (max, min, prod, var, std: `extrema`, `product`,
`moments`) are calls of their own (`ArrayCall`/`ScalarCall`), built and
evaluated with the helpers at the end of this module: `stored_reduction`
and its value, code and written-out value on the package's stored arrays,
and `spread` / `group_total`, which broadcast a per-group quantity back
over the entries it combined, for their rules.
"""

from __future__ import annotations

import sympy

from ..arrays import Elementwise, Ones, ReduceSum, element_of, is_array, ones_row
from ..broadcasting import broadcast_to
from ..errors import ShapeError
from .calls import ArrayCall, ScalarCall
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


def reduction_axis_words(node) -> str:
    """Which entries each reduced value combines, in words, for the step's explanation."""
    shape = node.args[0].shape
    params = dict(node.value or ())
    if len(shape) < 2:
        return ""  # a vector has one way to be reduced: nothing to say
    axis = normalized_axis(shape, params.get("axis"), node.op)
    rows, cols = shape
    kept = "; keepdims=True keeps the reduced axis with length 1" if params.get("keepdims") else ""
    if axis is None:
        return f"over all {rows}·{cols} entries at once (no axis given){kept}"
    if axis == 1:
        return f"row-wise (axis=1): one value for each of the {rows} rows, from its {cols} entries{kept}"
    return f"column-wise (axis=0): one value for each of the {cols} columns, from its {rows} entries{kept}"


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
    detail=reduction_axis_words,
    shape=lambda arg_shapes, params: reduced_shape(arg_shapes[0], params, "sum"),
    value=lambda np, values, expr: np.sum(values[0]),
    code=lambda codes, expr, np: f"{np('sum')}({codes[0]})",
    explicit=lambda values, expr: sum(values[0]),
    jacobians={"ones-row": lambda c: ones_row(c.operand(0).shape[0])},
    vjps={"grad-everywhere": lambda c: _grad_back(c, _no_scale)},
))
register(Operation(
    "mean", kind="reduction", keywords=AXIS, build=_build("mean", _mean_scale), detail=reduction_axis_words,
    shape=lambda arg_shapes, params: reduced_shape(arg_shapes[0], params, "mean"),
    jacobians={"mean-row": lambda c: sympy.MatMul(1 / c.operand(0).shape[0], ones_row(c.operand(0).shape[0]))},
    vjps={"grad-everywhere-mean": lambda c: _grad_back(c, _mean_scale)},
))


# -- reductions that are calls of their own (max, min, prod, var, std) ------------------------------
#
# The call holds its keyword arguments for the STORED array: a 1-D operand is stored as an n×1 column,
# so NumPy's axis=0 of it is the stored array's every entry (axis None), and a matrix keeps its axis.
# A result that NumPy makes 1-D is stored as a column too: the column sums of a matrix (axis=0, no
# keepdims) are the transpose of what keepdims=True gives.


def stored_reduction(name: str, arg, arg_shape: tuple, params: dict, *, of_ones=None, **extra) -> sympy.Basic:
    """The call `name(arg, …)` NumPy's `params` describe: a ScalarCall for one number, else an ArrayCall of
    the result's stored shape. `extra` are further keyword arguments (ddof=) passed through as they are;
    `of_ones` is the value the reduction has on ones(n), where no call is needed (max 1, var 0)."""
    axis = normalized_axis(arg_shape, params.get("axis"), name)
    result = reduced_shape(arg_shape, params, name)
    constant = of_ones is not None and isinstance(arg, sympy.OneMatrix)
    if not result:
        call = {"axis": None, "keepdims": False, **extra}
        return sympy.Integer(of_ones) if constant else ScalarCall(name, [arg], call)
    rows, cols = (result[0], sympy.Integer(1)) if len(result) == 1 else result
    if constant:
        return Elementwise(of_ones, rows, cols)
    call = {"axis": None if len(arg_shape) < 2 else axis, "keepdims": bool(params.get("keepdims")), **extra}
    return ArrayCall(name, [arg], call, rows, cols)


def _column_result(expr) -> bool:
    """Whether the stored result is the transpose of NumPy's keepdims=True result (column reductions)."""
    return expr.params["axis"] == 0 and not expr.params["keepdims"]


def stored_value(function, values: list, expr, **extra):
    """A stored reduction's NumPy value: `function` (np.max, np.var, …) on the stored operand."""
    if not isinstance(expr, sympy.MatrixExpr):
        return function(values[0], **extra)
    kept = function(values[0], axis=expr.params["axis"], keepdims=True, **extra)
    return kept.T if _column_result(expr) else kept


def stored_code(function: str, codes: list[str], expr, np, extra: str = "") -> str:
    """The same as NumPy source for exported modules (`extra` such as ", ddof=1")."""
    if not isinstance(expr, sympy.MatrixExpr):
        return f"{np(function)}({codes[0]}{extra})"
    kept = f"{np(function)}({codes[0]}, axis={expr.params['axis']!r}, keepdims=True{extra})"
    return f"{kept}.T" if _column_result(expr) else kept


def stored_explicit(combine, values: list, expr) -> sympy.Basic:
    """Written out for --expand: `combine(entries)` of each group (all entries, each row, each column)."""
    matrix, axis = values[0], expr.params["axis"]
    if axis is None:
        value = combine(list(matrix))
        return sympy.Matrix([[value]]) if isinstance(expr, sympy.MatrixExpr) else value
    if axis == 1:
        return sympy.Matrix([combine(list(matrix.row(i))) for i in range(matrix.rows)])
    groups = [combine(list(matrix.col(j))) for j in range(matrix.cols)]
    return sympy.Matrix(groups) if _column_result(expr) else sympy.Matrix([groups])


def spread(c, value) -> sympy.Basic:
    """`value`, shaped like the reduction's result (the upstream G, or the result itself), at every entry of
    the operand it combined: a scalar stays a scalar (it reaches every entry of an element-wise body)."""
    if not is_array(value):
        return value
    operand = c.node.args[0]
    kept = kept_shape(operand.shape, params_of(c), c.node.op)
    return broadcast_to(_stored_as(value, kept), kept, operand.shape)


def at_every_entry(c, value) -> sympy.Basic:
    """A per-group value (G, or the result) as a factor of an element-wise body over the operand."""
    spread_out = spread(c, value)
    return element_of(spread_out) if is_array(spread_out) else spread_out


def group_total(arg, shape: tuple, params: dict, name: str) -> sympy.Basic:
    """Σ of each group the reduction combines, at every entry of it: sum(x) (one group: a scalar), X𝟙𝟙ᵀ
    (each row), 𝟙𝟙ᵀX (each column)."""
    axis = normalized_axis(shape, params.get("axis"), name)
    if axis is None or len(shape) < 2:
        return ReduceSum(arg)
    total = _sum_along(arg, shape, {"axis": axis, "keepdims": True}, name)
    return broadcast_to(total, kept_shape(shape, params, name), shape)


def group_size(c) -> sympy.Expr:
    """N, how many entries each reduced value combines, from the node's NumPy shape and axis."""
    return axis_length(c.node.args[0].shape, params_of(c), c.node.op)


def params_of(c) -> dict:
    """The node's keyword arguments (NumPy's, as written), defaults filled in."""
    return dict(c.node.value or ())


def scalar_result(c) -> sympy.Expr:
    """The reduction's own value as one number, for a forward-mode Jacobian: its symbol, or (keepdims=True,
    a 1×1 array) the same reduction without keepdims."""
    own = c.symbol_of[c.node]
    if not is_array(own):
        return own
    operand = c.node.args[0]
    params = {**params_of(c), "keepdims": False}
    extra = {k: v for k, v in params.items() if k not in AXIS}
    return stored_reduction(c.node.op, c.operand(0), operand.shape, params, **extra)
