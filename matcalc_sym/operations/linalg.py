"""Matrix functions: trace, det, log det, inverse, norms, diag, outer (the Matrix Cookbook's results)."""

from __future__ import annotations

import sympy

from ..arrays import Diag, Elementwise, element_of
from ..matfuncs import DiagPart, LogDet, Norm, Norm1
from .registry import Operation, register


def _one(constructor):
    return lambda args, arg_shapes, shape, params: constructor(*args)


def _inverse_transpose(a):
    return sympy.Transpose(sympy.Inverse(a))


def _determinant(matrix):
    """Cofactor expansion: of symbolic entries, milliseconds where SymPy's default took seconds at 5×5."""
    return matrix.det(method="laplace")


def _logdet_value(np, values, expr):
    return np.linalg.slogdet(values[0])[1]


register(Operation(
    "trace", signatures=("(n,n)->()",), aliases=("tr",), build=_one(sympy.Trace), classes=(sympy.Trace,),
    value=lambda np, values, expr: np.trace(values[0]),
    code=lambda codes, expr, np: f"{np('trace')}({codes[0]})",
    explicit=lambda values, expr: values[0].trace(),
    vjps={"grad-identity": lambda c: sympy.MatMul(c.grad, sympy.Identity(c.arg(0).shape[0]))},
))
register(Operation(
    "det", signatures=("(n,n)->()",), build=_one(sympy.Determinant), classes=(sympy.Determinant,),
    value=lambda np, values, expr: np.linalg.det(values[0]),
    code=lambda codes, expr, np: f"{np('linalg.det')}({codes[0]})",
    explicit=lambda values, expr: _determinant(values[0]),
    vjps={"grad-det-inverse-transpose": lambda c: sympy.MatMul(c.grad * sympy.Determinant(c.arg(0)),
                                                               _inverse_transpose(c.arg(0)))},
))
register(Operation(
    "logdet", signatures=("(n,n)->()",), build=_one(LogDet), classes=(LogDet,),
    value=_logdet_value,
    code=lambda codes, expr, np: f"{np('linalg.slogdet')}({codes[0]})[1]",
    explicit=lambda values, expr: sympy.log(_determinant(values[0])),
    vjps={"grad-inverse-transpose": lambda c: sympy.MatMul(c.grad, _inverse_transpose(c.arg(0)))},
))
register(Operation(
    "inv", signatures=("(n,n)->(n,n)",), build=_one(sympy.Inverse), classes=(sympy.Inverse,),
    value=lambda np, values, expr: np.linalg.inv(values[0]),
    code=lambda codes, expr, np: f"{np('linalg.inv')}({codes[0]})",
    explicit=lambda values, expr: values[0].adjugate(method="laplace") / _determinant(values[0]),
    vjps={"minus-inverse-transpose-sandwich": lambda c: sympy.MatMul(
        -1, _inverse_transpose(c.arg(0)), c.grad, _inverse_transpose(c.arg(0)))},
))
register(Operation(
    "norm", signatures=("(n)->()", "(m,n)->()"), build=_one(Norm), classes=(Norm,),
    value=lambda np, values, expr: np.linalg.norm(values[0]),
    code=lambda codes, expr, np: f"{np('linalg.norm')}({codes[0]})",
    explicit=lambda values, expr: sympy.sqrt(sum(e**2 for e in values[0])),
    jacobians={"normalized-row": lambda c: sympy.MatMul(1 / Norm(c.operand(0)), sympy.Transpose(c.operand(0)))},
    vjps={"grad-over-norm": lambda c: sympy.MatMul(c.grad / Norm(c.arg(0)), c.arg(0))},
))
register(Operation(
    "norm1", signatures=("(n)->()", "(m,n)->()"), build=_one(Norm1), classes=(Norm1,),
    value=lambda np, values, expr: np.sum(np.abs(values[0])),
    code=lambda codes, expr, np: f"{np('sum')}({np('abs')}({codes[0]}))",
    explicit=lambda values, expr: sum(sympy.Abs(e) for e in values[0]),
    jacobians={"sign-row": lambda c: sympy.Transpose(
        Elementwise(sympy.sign(element_of(c.operand(0))), *c.operand(0).shape))},
    vjps={"grad-sign": lambda c: Elementwise(element_of(c.grad) * sympy.sign(element_of(c.arg(0))),
                                             *c.arg(0).shape)},
))


def _diag(args, arg_shapes, shape, params):
    """np.diag: a 1-D array becomes a diagonal matrix, a matrix gives its diagonal."""
    return Diag(args[0]) if len(arg_shapes[0]) == 1 else DiagPart(args[0])


def _diag_value(np, values, expr):
    return np.diag(np.ravel(values[0])) if isinstance(expr, Diag) else np.diag(values[0]).reshape(-1, 1)


def _diag_code(codes, expr, np):
    return f"{np('diagflat')}({codes[0]})" if isinstance(expr, Diag) else f"{np('diag')}({codes[0]}).reshape(-1, 1)"


def _diag_explicit(values, expr):
    matrix = values[0]
    if isinstance(expr, Diag):
        return sympy.diag(*list(matrix))
    return sympy.Matrix([matrix[i, i] for i in range(matrix.rows)])


register(Operation(
    "diag", signatures=("(n)->(n,n)", "(n,n)->(n)"), build=_diag, classes=(Diag, DiagPart),
    value=_diag_value, code=_diag_code, explicit=_diag_explicit,
    vjps={"diagonal-of-grad": lambda c: DiagPart(c.grad), "diag-of-grad": lambda c: Diag(c.grad)},
))
register(Operation(
    "outer", arity=(2,), signatures=("(m),(n)->(m,n)",),
    build=lambda args, arg_shapes, shape, params: sympy.MatMul(args[0], sympy.Transpose(args[1])),
    vjps={"grad-times-right": lambda c: sympy.MatMul(c.grad, c.arg(1)),
          "grad-transposed-times-left": lambda c: sympy.MatMul(sympy.Transpose(c.grad), c.arg(0))},
))
