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


# -- the forms a textbook writes ---------------------------------------------------------------------
# The chain rule builds a sum one path at a time, so its terms repeat (X + X from tr(XᵀX), whose X
# reaches the output twice) and share factors (xᵀA + xᵀAᵀ from xᵀAx). A teacher writes 2X and
# xᵀ(A + Aᵀ); these rewrites do what the teacher does, for every sum of arrays alike.


def collect_like_terms(expr: sympy.Basic) -> sympy.Basic:
    """c₁M + c₂M = (c₁ + c₂)M in every sum of arrays: X + X = 2X, xᵀXᵀX + xᵀXᵀX = 2xᵀXᵀX."""
    def collect(e):
        coefficients: dict = {}
        for term in e.args:
            coefficient, core = split(term)
            key = core if core is not None else sympy.Integer(1)
            coefficients[key] = coefficients.get(key, 0) + coefficient
        if len(coefficients) == len(e.args):
            return e
        terms = [join(c, None if k == 1 and not is_array(k) else k) for k, c in coefficients.items()]
        terms = [t for t in terms if not isinstance(t, ZeroMatrix) and t != 0]
        if not terms:
            return ZeroMatrix(*e.shape)
        return terms[0] if len(terms) == 1 else sympy.MatAdd(*terms)

    return _bottom_up(expr, sympy.MatAdd, collect)


def factor_common(expr: sympy.Basic) -> sympy.Basic:
    """F·A + F·B = F(A + B) and A·F + B·F = (A + B)F for a factor every term of a sum shares.

    xᵀA + xᵀAᵀ = xᵀ(A + Aᵀ), AX + AᵀX = (A + Aᵀ)X. Scalar coefficients stay with their terms; a
    term that is the shared factor alone contributes an identity (F + FA = F(I + A)) only when it is
    square, so nothing is factored that would need a 𝟙 or a shape it does not have.
    """
    def factor(e):
        parts = [split(term) for term in e.args]
        if any(core is None or not isinstance(core, sympy.MatMul) for _, core in parts):
            return e
        for side in (0, -1):
            shared = parts[0][1].args[side]
            if all(core.args[side] == shared for _, core in parts):
                rests = [sympy.MatMul(*(core.args[1:] if side == 0 else core.args[:-1])) for _, core in parts]
                rests = [r.args[0] if isinstance(r, sympy.MatMul) and len(r.args) == 1 else r for r in rests]
                inner = factor(sympy.MatAdd(*[join(c, r) for (c, _), r in zip(parts, rests, strict=True)]))
                inner = collect_like_terms(inner)
                return sympy.MatMul(shared, inner) if side == 0 else sympy.MatMul(inner, shared)
        return e

    return _bottom_up(expr, sympy.MatAdd, factor)


def numeric_content_out(expr: sympy.Basic) -> sympy.Basic:
    """An element-wise sum with a common number in every term: 2Ax − 2b = 2(Ax − b).

    The number moves in front of the array, where the products around it collect it
    (2(Ax − b)ᵀA, the least-squares gradient as written in a textbook).
    """
    from .arrays import Elementwise

    def pull(e):
        if not isinstance(e.body, sympy.Add):
            return e
        content, primitive = e.body.as_content_primitive()
        if content == 1 or not content.is_Rational:
            return e
        return sympy.MatMul(content, Elementwise(primitive, *e.shape))

    return expr.replace(lambda e: isinstance(e, Elementwise), pull)


def textbook_form(expr: sympy.Basic) -> sympy.Basic:
    """Numbers out of element-wise sums, like terms collected, shared factors factored out, and
    products flat (2(Ax − b)ᵀA, not 2((Ax − b)ᵀA))."""
    return symmetric_sums(flat_products(factor_common(collect_like_terms(_no_zero_terms(numeric_content_out(expr))))))


def _no_zero_terms(expr: sympy.Basic) -> sympy.Basic:
    """AᵀA + 0 is AᵀA: a zero array in a sum (sign's slope, 0 almost everywhere) is no term."""
    def drop(e):
        terms = [t for t in e.args if not isinstance(t, ZeroMatrix)]
        if len(terms) == len(e.args):
            return e
        if not terms:
            return ZeroMatrix(*e.shape)
        return terms[0] if len(terms) == 1 else sympy.MatAdd(*terms)

    return _bottom_up(expr, sympy.MatAdd, drop)


def symmetric_sums(expr: sympy.Basic) -> sympy.Basic:
    """(A + Aᵀ)ᵀ = A + Aᵀ: the transpose of a sum that holds the transpose of each of its terms is the sum.

    The Hessian of xᵀAx, the Jacobian of the gradient xᵀ(A + Aᵀ) read as a column, comes out as
    (A + Aᵀ)ᵀ; a textbook writes the symmetric matrix without the transpose.
    """
    from .arrays import Elem, Elementwise

    def terms_of(core) -> list | None:
        """The sum's terms as arrays (an element-wise sum of whole arrays counts: Aᵢⱼ + (Aᵀ)ᵢⱼ)."""
        if isinstance(core, sympy.MatAdd):
            return list(core.args)
        if isinstance(core, Elementwise) and isinstance(core.body, sympy.Add):
            terms = []
            for term in core.body.args:
                number, rest = term.as_coeff_Mul()
                if not isinstance(rest, Elem):
                    return None
                terms.append(join(number, rest.array))
            return terms
        return None

    def symmetric(core) -> bool:
        terms = terms_of(core)
        return terms is not None and sorted(map(sympy.default_sort_key, (transpose(t) for t in terms))) == sorted(
            map(sympy.default_sort_key, terms))

    def transposes(x) -> int:
        return sum(1 for node in sympy.preorder_traversal(x) if isinstance(node, Transpose))

    def untranspose(e):
        coefficient, core = split(e.arg)
        if symmetric(core):
            return join(coefficient, core)
        if isinstance(core, sympy.MatMul) and any(symmetric(f) for f in core.args):
            # (xᵀ(A + Aᵀ))ᵀ = (A + Aᵀ)x: the transpose taken inside, where the symmetric factor absorbs it
            inside = sympy.MatMul(*[f if symmetric(f) else transpose(f) for f in reversed(core.args)])
            if transposes(inside) < transposes(e):
                return join(coefficient, inside)
        return e

    return _bottom_up(expr, Transpose, untranspose)


def flat_products(expr: sympy.Basic) -> sympy.Basic:
    """c·(A·B) written c·A·B: a product inside a product is one product, with one coefficient."""
    def flatten(e):
        if not any(isinstance(a, sympy.MatMul) for a in e.args):
            return e
        scalars, matrices = [], []
        for a in e.args:
            for f in (a.args if isinstance(a, sympy.MatMul) else (a,)):
                (matrices if is_array(f) else scalars).append(f)
        return sympy.MatMul(*([sympy.Mul(*scalars)] if scalars else []), *matrices) if matrices else e

    return _bottom_up(expr, sympy.MatMul, flatten)


def reading_cost(expr: sympy.Basic) -> tuple[int, int, int]:
    """How long a result takes to read: special matrices left over (diag, 𝟙, I inside products),
    then operations (tree nodes), then printed length. Compared between forward and reverse mode."""
    nodes = list(sympy.preorder_traversal(expr))
    special = sum(1 for e in nodes if isinstance(e, (Diag, OneMatrix)) or (
        isinstance(e, sympy.MatMul) and any(isinstance(a, Identity) for a in e.args)))
    return special, len(nodes), len(str(expr))


def _bottom_up(expr: sympy.Basic, kind: type, rewrite: Callable) -> sympy.Basic:
    """`rewrite` applied to every `kind` node of `expr`, innermost first (a bounded tree walk)."""
    if not isinstance(expr, sympy.Basic) or not expr.args:
        return expr
    args = tuple(_bottom_up(a, kind, rewrite) for a in expr.args)
    if args != expr.args:
        try:
            expr = expr.func(*args, evaluate=False) if isinstance(expr, (sympy.MatAdd, sympy.MatMul, sympy.Add,
                                                                         sympy.Mul)) else expr.func(*args)
        except (TypeError, ValueError):  # a class not rebuilt from its args (a selection holding a range)
            return expr
    return rewrite(expr) if isinstance(expr, kind) else expr


__all__ = ["MatrixExpr", "add", "collect_like_terms", "factor_common", "multiply", "numeric_content_out",
           "reading_cost", "symmetric_sums", "textbook_form", "transpose"]
