"""logsumexp(z, axis=None, keepdims=False): log Σ exp(z), of all entries or along an axis.

SciPy's meaning and defaults (`scipy.special.logsumexp`): without an axis it
is one number (a `ScalarCall`), with one it reduces that axis as NumPy's
`sum` does, and `keepdims=True` keeps the axis as 1. Its derivative is the
softmax over the same entries: the Jacobian of a vector's logsumexp is
softmax(z)ᵀ, and backprop sends G back as softmax(z) ⊙ G, G broadcast over
the entries each value combined. The value is computed stably (the maximum
subtracted first), so logsumexp of [1000, 1000] is 1000 + log 2, not inf.
"""

from __future__ import annotations

import sympy

from ..arrays import Elementwise, element_of, is_array
from ..broadcasting import broadcast_to
from .calls import ArrayCall, ScalarCall
from .reductions import kept_shape, reduced_shape
from .registry import Operation, register
from .softmax import axis_words, stored_axis

KEYWORDS = {"axis": None, "keepdims": False}


def _shape(arg_shapes, params):
    return reduced_shape(arg_shapes[0], params, "logsumexp")


def _build(args, arg_shapes, shape, params):
    (arg,), (arg_shape,) = args, arg_shapes
    if not is_array(arg):
        return arg  # log exp z = z: one number is its own logsumexp
    axis = stored_axis(arg_shape, params, "logsumexp")
    if not shape:
        return ScalarCall("logsumexp", [arg], {"axis": None})
    keep = bool(params.get("keepdims"))
    rows, cols = _stored_shape(arg, axis, keep)
    return ArrayCall("logsumexp", [arg], {"axis": axis, "keepdims": keep}, rows, cols)


def _stored_shape(arg, axis: int | None, keep: bool) -> tuple:
    """How the result is stored: one value per row is a column, one per column a column (1-D) or a row
    (kept), and everything kept is 1×1."""
    rows, cols = arg.shape
    if axis is None:
        return sympy.Integer(1), sympy.Integer(1)
    if axis == 1:
        return rows, sympy.Integer(1)
    return (sympy.Integer(1), cols) if keep else (cols, sympy.Integer(1))


def _value(np, values, expr):
    axis, keep = expr.params["axis"], bool(expr.params.get("keepdims"))
    array = values[0]
    top = np.max(array, axis=axis, keepdims=True)
    total = top + np.log(np.sum(np.exp(array - top), axis=axis, keepdims=True))
    if isinstance(expr, ScalarCall):
        return float(total.reshape(()))
    return total.T if axis == 0 and not keep else total


def _code(codes, expr, np) -> str:
    axis, keep = expr.params["axis"], bool(expr.params.get("keepdims"))
    if isinstance(expr, ScalarCall):
        return f"float(_logsumexp({codes[0]}))"
    text = f"_logsumexp({codes[0]}, axis={axis!r}, keepdims=True)"
    return f"_np.transpose({text})" if axis == 0 and not keep else text


def _explicit(values, expr):
    matrix = values[0]
    axis, keep = expr.params["axis"], bool(expr.params.get("keepdims"))

    def lse(entries) -> sympy.Expr:
        return sympy.log(sum(entries.applyfunc(sympy.exp)))

    if isinstance(expr, ScalarCall):
        return lse(matrix)
    if axis is None:
        return sympy.Matrix([[lse(matrix)]])
    if axis == 1:
        return sympy.Matrix(matrix.rows, 1, [lse(matrix.row(i)) for i in range(matrix.rows)])
    sums = [lse(matrix.col(j)) for j in range(matrix.cols)]
    return sympy.Matrix(1, matrix.cols, sums) if keep else sympy.Matrix(matrix.cols, 1, sums)


def _softmax(z: sympy.MatrixExpr, axis: int | None) -> ArrayCall:
    return ArrayCall("softmax", [z], {"axis": axis}, *z.shape)


def _vjp(c):
    """∂J/∂Z = softmax(Z) ⊙ G, G broadcast back over the entries each logsumexp combined."""
    node = c.node
    operand = node.args[0]
    params = dict(node.value or ())
    z = c.arg(0)
    s = _softmax(z, stored_axis(operand.shape, params, "logsumexp"))
    if not is_array(c.grad):
        return Elementwise(c.grad * element_of(s), *z.shape)
    kept = kept_shape(operand.shape, params, "logsumexp")
    grad = c.grad if len(kept) != 2 or kept[0] != 1 or c.grad.shape[0] == 1 else sympy.Transpose(c.grad)
    return Elementwise(element_of(broadcast_to(grad, kept, operand.shape)) * element_of(s), *z.shape)


def _jacobian(c):
    """∂ logsumexp(z)/∂z = softmax(z)ᵀ, a row (a vector z: forward mode)."""
    return sympy.Transpose(_softmax(c.operand(0), None))


register(Operation(
    "logsumexp", kind="reduction", keywords=KEYWORDS, shape=_shape, build=_build,
    value=_value, code=_code, explicit=_explicit,
    jacobians={"softmax-row": _jacobian},
    vjps={"logsumexp-vjp": _vjp},
    detail=axis_words,
))
