"""The algebra of special matrices that keeps vector chain rules readable.

Products and sums of I, diag(·), 𝟙, 𝟙ᵀ, 0 and scalar multiples reduce the way
the paper reduces them by hand (𝟙ᵀ diag(x) = xᵀ, diag(a) diag(b) = diag(a ⊙ b),
z·I·A = z·A). Each identity is one small function in `PRODUCT_IDENTITIES`,
tried in order; a product none of them fits stays a plain matrix product.
tests/test_algebra.py checks every identity numerically.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy
from sympy import Identity, MatrixExpr, OneMatrix, Transpose, ZeroMatrix

from .arrays import Diag, Elementwise, Ones, ReduceSum, element_of, is_array


def split(expr) -> tuple[sympy.Basic, sympy.Basic | None]:
    """(scalar coefficient, matrix core); core None for a plain scalar."""
    if not is_array(expr):
        return expr, None
    if isinstance(expr, sympy.MatMul):
        scalars = [a for a in expr.args if not is_array(a)]
        matrices = [a for a in expr.args if is_array(a)]
        core = matrices[0] if len(matrices) == 1 else sympy.MatMul(*matrices)
        return sympy.Mul(*scalars), core
    return sympy.Integer(1), expr


def join(coefficient, core):
    if core is None:
        return coefficient
    if coefficient == 0:
        return ZeroMatrix(*core.shape)
    if coefficient == 1:
        return core
    if isinstance(core, ZeroMatrix):
        return core
    return sympy.MatMul(coefficient, core)


def is_column(m) -> bool:
    return is_array(m) and m.shape[1] == 1 and not isinstance(m, (Identity, Diag)) and m.shape[0] != 1


def is_row(m) -> bool:
    return (isinstance(m, Transpose) and is_column(m.arg)) or (
        isinstance(m, OneMatrix) and m.shape[0] == 1 and m.shape[1] != 1)


def row_vector(m):
    """The column whose transpose is the row `m`."""
    return Ones(m.shape[1], 1) if isinstance(m, OneMatrix) else m.arg




def hadamard(a, b):
    """a ⊙ b for two columns of the same shape, merged into one element-wise body."""
    return Elementwise(element_of(a) * element_of(b), *a.shape)


def _identity(a, b):
    """I·A = A and A·I = A."""
    if isinstance(a, Identity):
        return b
    if isinstance(b, Identity):
        return a
    return None


def _zero(a, b):
    """0·A = 0 and A·0 = 0."""
    if isinstance(a, ZeroMatrix) or isinstance(b, ZeroMatrix):
        rows, cols = a.shape[0], b.shape[1]
        return sympy.Integer(0) if rows == 1 and cols == 1 else ZeroMatrix(rows, cols)
    return None


def _diag_diag(a, b):
    """diag(a)·diag(b) = diag(a ⊙ b)."""
    if isinstance(a, Diag) and isinstance(b, Diag):
        return Diag(hadamard(a.vector, b.vector))
    return None


def _row_diag(a, b):
    """𝟙ᵀ·diag(b) = bᵀ and aᵀ·diag(b) = (a ⊙ b)ᵀ."""
    if is_row(a) and isinstance(b, Diag):
        vector = row_vector(a)
        if isinstance(vector, OneMatrix):
            return transpose(b.vector)
        return transpose(hadamard(vector, b.vector))
    return None


def _diag_column(a, b):
    """diag(a)·𝟙 = a and diag(a)·b = a ⊙ b."""
    if isinstance(a, Diag) and is_column(b):
        return a.vector if isinstance(b, OneMatrix) else hadamard(a.vector, b)
    return None


def _row_column(a, b):
    """𝟙ᵀ·b = sum(b) and aᵀ·b = sum(a ⊙ b): a row times a column is a scalar."""
    if is_row(a) and is_column(b):
        vector = row_vector(a)
        return ReduceSum(b) if isinstance(vector, OneMatrix) else ReduceSum(hadamard(vector, b))
    return None


def _row_sum(a, b):
    """aᵀ·(B + C) = aᵀB + aᵀC and diag(a)·(B + C) = diag(a)B + diag(a)C, each product reduced."""
    # 𝟙ᵀ(diag(u) + diag(x)Aᵀ) = uᵀ + xᵀAᵀ. A Jacobian that is a sum (softmax's diag(s) − s sᵀ,
    # log-softmax's I − 𝟙 sᵀ) meets a row or a diagonal from the rest of the chain; term by term each
    # product reduces (𝟙ᵀ·diag(y) = yᵀ, yᵀ·𝟙 = sum(y)), which is how cross-entropy's s·Σy − y appears.
    # A diagonal is distributed only when that cancels diagonals (diag(1/s)·(diag(s) − s sᵀ) = I − 𝟙 sᵀ);
    # diag(γ)·(I − 𝟙𝟙ᵀ/n) reads best as it is.
    if not (is_row(a) or isinstance(a, Diag)) or not isinstance(b, sympy.MatAdd):
        return None
    terms = [multiply(a, term)[0] for term in b.args]
    total = terms[0]
    for term in terms[1:]:
        total = add(total, term)
    if isinstance(a, Diag) and _diagonals(total) >= 1 + _diagonals(b):
        return None
    return total


def _diagonals(expr) -> int:
    return sum(1 for e in sympy.preorder_traversal(expr) if isinstance(e, Diag))


PRODUCT_IDENTITIES: tuple[Callable, ...] = (_zero, _identity, _diag_diag, _row_diag, _diag_column, _row_column,
                                            _row_sum)


def multiply(left, right) -> tuple[sympy.Basic, list[str]]:
    """left·right reduced by the identities; also the identities that were used.

    Products associate, so every adjacent pair of factors in the chain is tried
    (diag(a)·(diag(b)·X) becomes diag(a ⊙ b)·X).
    """
    left_coefficient, left_core = split(left)
    right_coefficient, right_core = split(right)
    coefficient = left_coefficient * right_coefficient
    if left_core is None or right_core is None:
        core = left_core if right_core is None else right_core
        return join(coefficient, core), []
    factors = _factors(left_core) + _factors(right_core)
    used: list[str] = []
    changed = True
    while changed and len(factors) > 1:
        changed = False
        for i in range(len(factors) - 1):
            for identity in PRODUCT_IDENTITIES:
                reduced = identity(factors[i], factors[i + 1])
                if reduced is None:
                    continue
                extra, core = split(reduced)
                coefficient *= extra
                factors[i:i + 2] = [] if core is None else [core]
                used.append(identity.__doc__.strip().rstrip("."))
                changed = True
                break
            if changed:
                break
    if not factors:
        return coefficient, used
    core = factors[0] if len(factors) == 1 else sympy.MatMul(*factors)
    return join(coefficient, core), used


def _factors(core) -> list:
    return list(core.args) if isinstance(core, sympy.MatMul) else [core]


def add(left, right):
    """left + right, merging diagonals, multiples of I, columns and rows element-wise."""
    if not is_array(left) and not is_array(right):
        return left + right
    if isinstance(left, ZeroMatrix) or left == 0:
        return right
    if isinstance(right, ZeroMatrix) or right == 0:
        return left
    lc, lm = split(left)
    rc, rm = split(right)
    if lm == rm:
        return join(lc + rc, lm)
    if isinstance(left, Diag) and isinstance(right, Diag):
        return Diag(add(left.vector, right.vector))
    if is_column(left) and is_column(right):
        return Elementwise(element_of(left) + element_of(right), *left.shape)
    if is_row(left) and is_row(right):
        return transpose(add(row_vector(left), row_vector(right)))
    if _diagonal_like(left) and _diagonal_like(right):
        return Diag(add(_diagonal_vector(left), _diagonal_vector(right)))
    common = _common_right_factor(lc, lm, rc, rm)
    if common is not None:
        return common
    return sympy.MatAdd(left, right)


def _common_right_factor(lc, lm, rc, rm):
    """aᵀX + bᵀX = (a + b)ᵀX: two rows times the same matrix are one row times it."""
    if not (isinstance(lm, sympy.MatMul) and isinstance(rm, sympy.MatMul)) or lm.args[1:] != rm.args[1:]:
        return None
    first, second = lm.args[0], rm.args[0]
    if not (is_row(first) and is_row(second)):
        return None
    a, b = row_vector(first), row_vector(second)
    rows = transpose(Elementwise(lc * element_of(a) + rc * element_of(b), *a.shape))
    return sympy.MatMul(rows, *lm.args[1:])


def _diagonal_like(m) -> bool:
    _, core = split(m)
    return isinstance(core, (Diag, Identity))


def _diagonal_vector(m):
    coefficient, core = split(m)
    vector = core.vector if isinstance(core, Diag) else Ones(core.shape[0], 1)
    return Elementwise(coefficient * element_of(vector), *vector.shape)


def transpose(m):
    if not is_array(m):
        return m
    coefficient, core = split(m)
    if isinstance(core, (Diag, Identity)):
        return m
    if isinstance(core, Transpose):
        return join(coefficient, core.arg)
    if isinstance(core, OneMatrix):
        return join(coefficient, Ones(core.shape[1], core.shape[0]))
    if isinstance(core, ZeroMatrix):
        return ZeroMatrix(core.shape[1], core.shape[0])
    return join(coefficient, Transpose(core))


__all__ = ["MatrixExpr", "add", "multiply", "transpose"]
