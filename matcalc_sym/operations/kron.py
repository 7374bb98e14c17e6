"""kron(A, B): the Kronecker product A ⊗ B, as np.kron computes it for vectors and matrices.

A ⊗ B is the block matrix whose block (i, j) is Aᵢⱼ·B. Backprop's adjoint
therefore reads G block by block (the blocks have B's shape):

* ∂J/∂A: entry (i, j) is ⟨Gᵢⱼ, B⟩, block (i, j)'s inner product with B;
* ∂J/∂B = Σᵢⱼ Aᵢⱼ Gᵢⱼ, the blocks weighted by A.

Without reshaping, for symbolic sizes: multiplying G entry by entry with
𝟙 ⊗ B (B in every block) or A ⊗ 𝟙 (Aᵢⱼ over block (i, j)), then adding up the
rows and columns of each block (or the blocks themselves) with Kronecker
products of I and 𝟙, gives
∂J/∂A = (I ⊗ 𝟙ᵀ)(G ⊙ (𝟙 ⊗ B))(I ⊗ 𝟙) and ∂J/∂B = (𝟙ᵀ ⊗ I)(G ⊙ (A ⊗ 𝟙))(𝟙 ⊗ I).
When G is c·I and A and B are square (a trace), only the diagonal blocks
count, and these are c·tr(B)·I and c·tr(A)·I: the Matrix Cookbook's
tr(A ⊗ B) = tr(A)·tr(B), differentiated.

NumPy reads a 1-D operand next to a matrix as a row (1, n); a 1-D array is
stored as a column here, so it enters the product transposed.
"""

from __future__ import annotations

import sympy
from sympy import Identity, KroneckerProduct, MatrixExpr
from sympy.printing.precedence import PRECEDENCE

from ..algebra import join, split, transpose
from ..arrays import Elementwise, Ones, element_of
from ..errors import ShapeError
from .registry import Operation, register


class Kron(KroneckerProduct):
    """A ⊗ B; in the input language (the `text` form) the call kron(A, B)."""

    def _sympystr(self, printer):
        return f"kron({', '.join(printer._print(a) for a in self.args)})"

    def _pretty(self, printer):
        """A ⊗ B, bracketed inside a product: (𝟙ᵀ ⊗ I)·G, not 𝟙ᵀ ⊗ I·G."""
        from sympy.printing.pretty.stringpict import prettyForm

        form = printer._print_KroneckerProduct(self)
        return prettyForm("\n".join(form.picture), form.baseline, binding=prettyForm.ADD)


def _shape(arg_shapes, params):
    from ..shapes import show

    left, right = arg_shapes
    if not left or not right:
        raise ShapeError(f"kron() needs two arrays, got shapes {show(left)} and {show(right)}; "
                         "a number times an array is written with *")
    if len(left) == len(right) == 1:
        return (left[0] * right[0],)
    rows_left, cols_left = left if len(left) == 2 else (sympy.Integer(1), left[0])
    rows_right, cols_right = right if len(right) == 2 else (sympy.Integer(1), right[0])
    return (rows_left * rows_right, cols_left * cols_right)


def as_used(args, arg_shapes) -> list[tuple[sympy.Basic, bool]]:
    """Each operand as the product uses it, and whether it is transposed: a 1-D vector beside a matrix
    is a row (NumPy's (1, n)), and stored as a column it enters as its transpose."""
    mixed = {len(s) for s in arg_shapes} == {1, 2}
    return [(sympy.Transpose(a), True) if mixed and len(s) == 1 else (a, False) for a, s in zip(args, arg_shapes)]


def _build(args, arg_shapes, shape, params):
    (left, _), (right, _) = as_used(args, arg_shapes)
    return Kron(left, right)


def _value(np, values, expr):
    result = values[0]
    for value in values[1:]:
        result = np.kron(result, value)
    return result


def _explicit(values, expr):
    result = values[0]
    for value in values[1:]:
        result = sympy.Matrix(sympy.BlockMatrix([[result[i, j] * value for j in range(result.cols)]
                                                 for i in range(result.rows)]))
    return result


# -- reverse mode: block sums of the adjoint -------------------------------------------------------


def _unit(matrix) -> bool:
    """A 1×1 identity or ones: a factor that changes nothing."""
    return isinstance(matrix, (Identity, sympy.OneMatrix)) and matrix.shape == (1, 1)


def kron(left, right):
    """left ⊗ right without the factors that change nothing (I₁, 𝟙 of 1×1, I ⊗ I = I)."""
    if _unit(left):
        return right
    if _unit(right):
        return left
    if isinstance(left, Identity) and isinstance(right, Identity):
        return Identity(left.shape[0] * right.shape[0])
    return Kron(left, right)


def _product(*factors):
    kept = [f for f in factors if not _unit(f)]
    return kept[0] if len(kept) == 1 else sympy.MatMul(*kept)


class KronAdjoint(MatrixExpr):
    """One operand's share of the adjoint G of kron(L, R): block sums of G (`side` 0 for L, 1 for R).

    `other` is the operand not differentiated. Kept as one object while G is
    still a symbol (∂J/∂u), so that an adjoint c·I put in later reduces it to
    c·tr(other)·I.
    """

    def __new__(cls, grad, other, side):
        coefficient, core = split(grad)
        rows, cols = grad.shape[0] / other.shape[0], grad.shape[1] / other.shape[1]
        if isinstance(core, Identity) and other.shape[0] == other.shape[1] and rows == cols:
            return join(coefficient * sympy.Trace(other), Identity(rows))
        return MatrixExpr.__new__(cls, grad, other, sympy.Integer(side))

    @property
    def grad(self):
        return self.args[0]

    @property
    def other(self):
        return self.args[1]

    @property
    def side(self) -> int:
        return int(self.args[2])

    @property
    def shape(self):
        return (self.grad.shape[0] / self.other.shape[0], self.grad.shape[1] / self.other.shape[1])

    def formula(self):
        """The same as matrix algebra: (I ⊗ 𝟙ᵀ)(G ⊙ (𝟙 ⊗ R))(I ⊗ 𝟙), or (𝟙ᵀ ⊗ I)(G ⊙ (L ⊗ 𝟙))(𝟙 ⊗ I)."""
        (rows, cols), (other_rows, other_cols) = self.shape, self.other.shape
        grad = self.grad
        if self.side == 0:  # blocks have the other's shape; sum within each
            spread = kron(Ones(rows, cols), self.other)
            left, right = kron(Identity(rows), Ones(1, other_rows)), kron(Identity(cols), Ones(other_cols, 1))
        else:  # blocks have this operand's shape; add the blocks up
            spread = kron(self.other, Ones(rows, cols))
            left, right = kron(Ones(1, other_rows), Identity(rows)), kron(Ones(other_cols, 1), Identity(cols))
        weighted = Elementwise(element_of(grad) * element_of(spread), *grad.shape)
        return _product(left, weighted, right)

    precedence = PRECEDENCE["Mul"]

    def _sympystr(self, printer):
        return printer._print(self.formula())

    def _pretty(self, printer):
        return printer._print(self.formula())

    def _latex(self, printer, exp=None):
        body = printer._print(self.formula())
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


def _blocks(grad, other, side: int):
    """G as blocks[i, k, j, l] = G[i·r + k, j·s + l], with blocks of the other's shape (side 0) or
    this operand's shape (side 1)."""
    if side == 0:
        r, s = other.shape
        return grad.reshape(grad.shape[0] // r, r, grad.shape[1] // s, s)
    p, q = other.shape
    return grad.reshape(p, grad.shape[0] // p, q, grad.shape[1] // q)


def _adjoint_value(np, values, expr):
    grad, other = values
    blocks = _blocks(grad, other, expr.side)
    return np.einsum("ikjl,kl->ij" if expr.side == 0 else "ikjl,ij->kl", blocks, other)


def _adjoint_explicit(values, expr):
    grad, other = values
    if expr.side == 0:  # other is R (r×s): entry (i, j) is block (i, j) of G against R
        r, s = other.shape
        return sympy.Matrix(grad.rows // r, grad.cols // s, lambda i, j: sum(
            grad[i * r + a, j * s + b] * other[a, b] for a in range(r) for b in range(s)))
    p, q = other.shape  # other is L (p×q): the blocks of G weighted by L's entries
    r, s = grad.rows // p, grad.cols // q
    return sympy.Matrix(r, s, lambda a, b: sum(
        other[i, j] * grad[i * r + a, j * s + b] for i in range(p) for j in range(q)))


def _adjoint_code(codes, expr, np):
    helper = "_kron_vjp_left" if expr.side == 0 else "_kron_vjp_right"
    return f"{helper}({codes[0]}, {codes[1]})"


def _vjp(side: int):
    def vjp(c):
        """The operand's block sums of G, transposed back when a 1-D operand entered as a row."""
        used = as_used([c.arg(0), c.arg(1)], [a.shape for a in c.node.args])
        other, _ = used[1 - side]
        share = KronAdjoint(c.grad, other, side)
        return transpose(share) if used[side][1] else share
    return vjp


# -- forward mode: vectors ---------------------------------------------------------------------------


def _jacobian(side: int):
    def jacobian(c):
        """∂(a ⊗ b)/∂a = I ⊗ b and ∂(a ⊗ b)/∂b = a ⊗ I (both, added, for kron(a, a))."""
        a, b = c.operand(0), c.operand(1)
        by_a, by_b = Kron(Identity(a.shape[0]), b), Kron(a, Identity(b.shape[0]))
        if c.node.args[0] is c.node.args[1]:
            return sympy.MatAdd(by_a, by_b)
        return by_a if side == 0 else by_b
    return jacobian


register(Operation(
    "kron", arity=(2,), shape=_shape, build=_build, classes=(Kron, KroneckerProduct),
    value=_value,
    code=lambda codes, expr, np: _nested(np("kron"), codes),
    explicit=_explicit,
    jacobians={"identity-kron-right": _jacobian(0), "left-kron-identity": _jacobian(1)},
    vjps={"block-inner-products": _vjp(0), "weighted-block-sum": _vjp(1)},
))
register(Operation(
    "kron_adjoint", classes=(KronAdjoint,), operands=lambda expr: (expr.grad, expr.other),
    value=_adjoint_value, code=_adjoint_code, explicit=_adjoint_explicit,
))


def _nested(function: str, codes: list[str]) -> str:
    text = codes[0]
    for code in codes[1:]:
        text = f"{function}({text}, {code})"
    return text
