"""log_softmax(z, axis=None): z − log Σ exp(z), over all entries or along an axis (each row for axis=1).

SciPy's meaning and default (`scipy.special.log_softmax`): without an axis it
normalizes over every entry. It is declared apart from softmax because the
log of a softmax is where cross-entropy lives, and differentiated as one
operation its rules are short: the Jacobian is I − 𝟙 sᵀ, the vector-Jacobian
product G − s ⊙ Σ G (s = softmax(z), the sum over each group), with no
division by s. That is why `log(softmax(z))` in the input is read as this
operation (see `composes`), and why cross-entropy against a target y comes
out as s·Σy − y: the classic s − y once Σy = 1.

Its value is computed stably (the group maximum subtracted first), so a
logit of 1000 gives a finite answer where log(softmax(z)) would not.
"""

from __future__ import annotations

import sympy

from ..arrays import Elementwise, Ones, element_of
from .calls import ArrayCall
from .registry import Operation, register
from .softmax import axis_words, cross_entropy_notes, group_sum, stored_axis


def _shape(arg_shapes, params):
    stored_axis(arg_shapes[0], params, "log_softmax")  # refuses an axis out of range
    return arg_shapes[0]


def _build(args, arg_shapes, shape, params):
    (arg,) = args
    if not isinstance(arg, sympy.MatrixExpr):
        return sympy.Integer(0)  # the softmax of one number is 1, and log 1 = 0
    return ArrayCall("log_softmax", [arg], {"axis": stored_axis(arg_shapes[0], params, "log_softmax")}, *arg.shape)


def softmax_of(z: sympy.MatrixExpr, axis: int | None) -> ArrayCall:
    """softmax(z) along the same groups, as the call the user could have written."""
    return ArrayCall("softmax", [z], {"axis": axis}, *z.shape)


def _value(np, values, expr):
    axis = expr.params["axis"]
    shifted = values[0] - np.max(values[0], axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _explicit(values, expr):
    matrix, axis = values[0], expr.params["axis"]

    def log_total(entries) -> sympy.Expr:
        return sympy.log(sum(entries.applyfunc(sympy.exp)))

    if axis is None:
        return matrix.applyfunc(lambda entry: entry - log_total(matrix))
    if axis == 1:
        return sympy.Matrix(matrix.rows, matrix.cols, lambda i, j: matrix[i, j] - log_total(matrix.row(i)))
    return sympy.Matrix(matrix.rows, matrix.cols, lambda i, j: matrix[i, j] - log_total(matrix.col(j)))


def _axis_of(c) -> int | None:
    return stored_axis(c.node.args[0].shape, dict(c.node.value or ()), "log_softmax")


def _vjp(c):
    """∂J/∂z = G − s ⊙ Σ_group G, with s = softmax(z) (each row's own sum for axis=1)."""
    z, grad = c.arg(0), c.grad
    s = softmax_of(z, _axis_of(c))
    return Elementwise(element_of(grad) - element_of(s) * element_of(group_sum(grad, _axis_of(c))), *z.shape)


def _jacobian(c):
    """∂ℓ/∂z = I − 𝟙 sᵀ (a vector z: forward mode), with s = softmax(z)."""
    z = c.operand(0)
    n = z.shape[0]
    return sympy.MatAdd(sympy.Identity(n), sympy.MatMul(-1, Ones(n, 1), sympy.Transpose(softmax_of(z, None))))


register(Operation(
    "log_softmax", keywords={"axis": None}, shape=_shape, build=_build,
    value=_value,
    code=lambda codes, expr, np: f"_log_softmax({codes[0]}, axis={expr.params['axis']!r})",
    explicit=_explicit,
    jacobians={"identity-minus-ones-softmax": _jacobian},
    vjps={"log-softmax-vjp": _vjp},
    detail=axis_words,
    notes=cross_entropy_notes,
    composes=("log", "softmax"),
))
