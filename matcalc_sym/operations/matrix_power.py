"""matrix_power(X, k): X multiplied by itself k times (np.linalg.matrix_power), k a literal whole number.

The Matrix Cookbook differentiates Xᵏ one factor at a time:
d(Xᵏ) = Σᵢ Xⁱ dX Xᵏ⁻¹⁻ⁱ, so backprop's vector-Jacobian product is
Σᵢ (Xᵀ)ⁱ G (Xᵀ)ᵏ⁻¹⁻ⁱ, k products of n×n matrices instead of an n²×n²
Jacobian. When G is a multiple of I (the adjoint of a trace) the k terms are
equal, which is the Cookbook's ∂tr(Xᵏ)/∂X = k(Xᵏ⁻¹)ᵀ.

The power must be written as a number: it decides how many terms the
derivative has. Negative powers are refused rather than read as powers of
the inverse; `matrix_power(inv(X), 2)` says that, and its chain rule shows it.
"""

from __future__ import annotations

import sympy
from sympy.printing.precedence import PRECEDENCE

from ..algebra import join, split
from ..errors import ShapeError
from .registry import Operation, register

#: the largest power accepted (the derivative has one term per factor)
MAX_POWER = 16


class MatrixPower(sympy.MatPow):
    """Xᵏ as a matrix product; in the input language (the `text` form) the call, not X**k (element-wise)."""

    def _sympystr(self, printer):
        return f"matrix_power({printer._print(self.base)}, {self.exp})"


def power(matrix, k: int):
    """matrix multiplied by itself k times, as it should print: I for 0, the matrix for 1, else Mᵏ."""
    if k == 0:
        return sympy.Identity(matrix.shape[0])
    return matrix if k == 1 else MatrixPower(matrix, k)


def _square(shape: tuple) -> bool:
    return len(shape) == 2 and shape[0] == shape[1]


def _shape(arg_shapes, params):
    from ..shapes import show

    matrix, exponent = arg_shapes
    if not _square(matrix) or exponent != ():
        raise ShapeError(f"matrix_power() needs a square matrix (n,n) and a whole number, got shapes "
                         f"{show(matrix)} and {show(exponent)}")
    return matrix


def literal_power(value, base=None) -> int:
    """The power as a Python int, or a ShapeError saying what is accepted."""
    if not isinstance(value, sympy.Integer):
        shown = f"{float(value):g}" if value.is_Number else str(value)
        raise ShapeError(f"matrix_power(): the power must be a whole number written in the text, got {shown}")
    k = int(value)
    if k < 0:
        name = base.name if isinstance(base, sympy.MatrixSymbol) else "X"
        inverse = f"inv({name})" if k == -1 else f"matrix_power(inv({name}), {-k})"
        raise ShapeError(f"matrix_power(): the power {k} is negative (NumPy would invert); write {inverse}")
    if k > MAX_POWER:
        raise ShapeError(f"matrix_power(): the power {k} is above {MAX_POWER} (its derivative has one term "
                         "per factor)")
    return k


def _build(args, arg_shapes, shape, params):
    """Xᵏ; X⁰ is I and X¹ is X, as NumPy computes them (and as they should read)."""
    matrix, exponent = args
    return power(matrix, literal_power(exponent, matrix))


def _value(np, values, expr):
    return np.linalg.matrix_power(values[0], int(expr.exp))


def _code(codes, expr, np):
    return f"{np('linalg.matrix_power')}({codes[0]}, {int(expr.exp)})"


def _explicit(values, expr):
    return values[0] ** int(expr.exp)


class PowerAdjoint(sympy.MatrixExpr):
    """Σᵢ₌₀ᵏ⁻¹ (Xᵀ)ⁱ G (Xᵀ)ᵏ⁻¹⁻ⁱ: the vector-Jacobian product of Xᵏ for the upstream gradient G.

    Kept as one object while G is still a symbol (∂J/∂u), so that when the
    adjoint is put in and turns out to be c·I (a trace), rebuilding it gives
    the k equal terms as one: c·k·(Xᵀ)ᵏ⁻¹.
    """

    def __new__(cls, base, grad, exp):
        k = int(exp)
        if k == 0:
            return sympy.ZeroMatrix(*base.shape)
        if k == 1:
            return grad
        coefficient, core = split(grad)
        if isinstance(core, sympy.Identity):
            return join(coefficient * k, power(sympy.Transpose(base), k - 1))
        return sympy.MatrixExpr.__new__(cls, base, grad, sympy.Integer(k))

    @property
    def base(self):
        return self.args[0]

    @property
    def grad(self):
        return self.args[1]

    @property
    def k(self) -> int:
        return int(self.args[2])

    @property
    def shape(self):
        return self.base.shape

    def terms(self) -> list:
        """The k products (Xᵀ)ⁱ G (Xᵀ)ᵏ⁻¹⁻ⁱ, i = 0 … k−1."""
        transposed, k = sympy.Transpose(self.base), self.k
        coefficient, core = split(self.grad)
        middle = list(core.args) if isinstance(core, sympy.MatMul) else [core]
        terms = []
        for i in range(k):
            factors = [power(transposed, i), *middle, power(transposed, k - 1 - i)]
            terms.append(join(coefficient, sympy.MatMul(*[f for f in factors if not isinstance(f, sympy.Identity)])))
        return terms

    def expanded(self):
        return sympy.MatAdd(*self.terms())

    #: a sum: printers put it in parentheses inside a product
    precedence = PRECEDENCE["Add"]

    def _sympystr(self, printer):
        return printer._print(self.expanded())

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        form = printer._print(self.expanded())
        return prettyForm("\n".join(form.picture), form.baseline, binding=prettyForm.ADD)

    def _latex(self, printer, exp=None):
        """The Cookbook's Σᵢ (Xᵀ)ⁱ G (Xᵀ)ᵏ⁻¹⁻ⁱ from three terms on; two read better written out."""
        if self.k < 3:
            body = printer._print(self.expanded())
        else:
            transposed = rf"\left({printer._print(sympy.Transpose(self.base))}\right)"
            grad = printer.parenthesize(self.grad, PRECEDENCE["Mul"], strict=True)
            body = rf"\sum_{{i=0}}^{{{self.k - 1}}} {transposed}^{{i}} {grad} {transposed}^{{{self.k - 1}-i}}"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


def _adjoint_value(np, values, expr):
    base, grad = values
    powers = [np.linalg.matrix_power(base.T, i) for i in range(expr.k)]
    return sum(powers[i] @ grad @ powers[expr.k - 1 - i] for i in range(expr.k))


def _adjoint_explicit(values, expr):
    base, grad = values
    powers = [base.T ** i for i in range(expr.k)]
    return sum((powers[i] * grad * powers[expr.k - 1 - i] for i in range(1, expr.k)),
               powers[0] * grad * powers[expr.k - 1])


def _vjp(c):
    """∂J/∂X = Σᵢ (Xᵀ)ⁱ G (Xᵀ)ᵏ⁻¹⁻ⁱ (Matrix Cookbook: d(Xᵏ) = Σᵢ Xⁱ dX Xᵏ⁻¹⁻ⁱ)."""
    return PowerAdjoint(c.arg(0), c.grad, literal_power(c.arg(1)))


register(Operation(
    "matrix_power", arity=(2,), shape=_shape, build=_build, classes=(MatrixPower, sympy.MatPow),
    operands=lambda expr: (expr.base,),
    value=_value, code=_code, explicit=_explicit,
    vjps={"power-sum": _vjp},
))
register(Operation(
    "matrix_power_adjoint", classes=(PowerAdjoint,),
    operands=lambda expr: (expr.base, expr.grad),
    value=_adjoint_value,
    code=lambda codes, expr, np: f"_matrix_power_vjp({codes[0]}, {codes[1]}, {expr.k})",
    explicit=_adjoint_explicit,
))
