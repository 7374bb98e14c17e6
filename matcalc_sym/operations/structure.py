"""Rule forms of the operators and of element-wise application: @, .T, the identity, broadcasting.

These are not functions of the input language (the parser builds them from
operators), so they declare no value or code: only the forms the rules tables
name under `match = "matmul"`, `"transpose"`, `"identity"`, `"elementwise"` and
`"broadcast"`. Element-wise operations get their scalar partials from
rules/scalar.toml; the forms here put them on a diagonal (the element-wise
diagonal condition) or down a column (scalar expansion).
"""

from __future__ import annotations

import sympy
from sympy import Identity

from ..arrays import Diag, Elementwise
from .registry import Operation, register


def _diagonal(context):
    rows, cols = context.result_shape
    return Diag(Elementwise(context.scalar_partial, rows, cols))


def _column(context):
    rows, cols = context.result_shape
    return Elementwise(context.scalar_partial, rows, cols)


def _identity(context):
    return Identity(context.operand(0).shape[0])


register(Operation("elementwise", jacobians={"diagonal": _diagonal}, vjps={"elementwise": None}))
register(Operation("broadcast", jacobians={"column": _column}))
register(Operation("identity", jacobians={"identity": _identity}, vjps={"grad": lambda c: c.grad}))
register(Operation(
    "transpose",
    jacobians={"identity": _identity},
    vjps={"grad-transposed": lambda c: sympy.Transpose(c.grad), "grad": lambda c: c.grad},
))
register(Operation(
    "matmul",
    jacobians={
        "left-operand": lambda c: c.operand(0),
        "right-operand-transposed": lambda c: sympy.Transpose(c.operand(1)),
    },
    vjps={
        "grad-times-right-transposed": lambda c: sympy.MatMul(c.grad, sympy.Transpose(c.arg(1))),
        "left-transposed-times-grad": lambda c: sympy.MatMul(sympy.Transpose(c.arg(0)), c.grad),
        "right-times-grad": lambda c: sympy.MatMul(c.arg(1), c.grad),
        "left-times-grad-transposed": lambda c: sympy.MatMul(c.arg(0), sympy.Transpose(c.grad)),
    },
))
