"""Array expressions for the vector chain rule, as SymPy objects.

An element-wise expression is scalar algebra over *elements*: `Elem(w)` stands
for wᵢ, and `Elementwise(cos(Elem(u)) * z, shape)` is the vector whose i-th
entry is cos(uᵢ)·z. SymPy's scalar simplification then works element by
element for free (wᵢ/wᵢ = 1), which is exactly the paper's element-wise
diagonal condition at work. `Diag` and `ReduceSum` are diag(·) and sum(·);
identities, ones and zeros are SymPy's own `Identity`, `OneMatrix`,
`ZeroMatrix`.
"""

from __future__ import annotations

import sympy
from sympy import Identity, MatrixExpr, OneMatrix, ZeroMatrix


class Ones(OneMatrix):
    """𝟙, the matrix of ones; printed 𝟙ᵀ when it is a row, as the paper writes it."""

    def _eval_transpose(self):
        return Ones(self.shape[1], self.shape[0])

    def _is_row(self) -> bool:
        return self.shape[0] == 1 and self.shape[1] != 1

    def _sympystr(self, printer):
        return "1.T" if self._is_row() else "1"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm("𝟙ᵀ" if self._is_row() else "𝟙")

    def _latex(self, printer, exp=None):
        body = r"\mathbb{1}^{T}" if self._is_row() else r"\mathbb{1}"
        return body if exp is None else f"{body}^{{{exp}}}"


def is_array(expr) -> bool:
    return isinstance(expr, (MatrixExpr, sympy.MatrixBase))


class Elem(sympy.Expr):
    """A generic element of an array: prints as the array itself."""

    is_commutative = True
    is_real = True

    def __new__(cls, array):
        return sympy.Expr.__new__(cls, array)

    @property
    def array(self):
        return self.args[0]

    @property
    def precedence(self) -> int:
        """The array's own precedence, so printers parenthesize w + x only where needed."""
        from .render.printable import fast_precedence

        return fast_precedence(self.array)

    def _sympystr(self, printer):
        return printer._print(self.array)

    def _pretty(self, printer):
        return printer._print(self.array)

    def _latex(self, printer, exp=None):
        body = printer._print(self.array)
        return body if exp is None else f"{printer.parenthesize(self.array, 1000)}^{{{exp}}}"


def _is_atomic(array) -> bool:
    return isinstance(array, (sympy.MatrixSymbol, OneMatrix, Identity, ZeroMatrix)) or (
        isinstance(array, sympy.Transpose) and isinstance(array.arg, sympy.MatrixSymbol)
    )


class HadamardDisplay(sympy.Expr):
    """Display-only: a product of array elements printed with ⊙."""

    is_commutative = True

    def _sympystr(self, printer):
        return " ⊙ ".join(f"({printer._print(a)})" if _needs_parens(a) else printer._print(a) for a in self.args)

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        forms = [printer._print(a) for a in self.args]
        forms = [prettyForm(*f.parens()) if _needs_parens(a) else f for a, f in zip(self.args, forms)]
        result = forms[0]
        for form in forms[1:]:
            result = prettyForm(*result.right(" ⊙ ", form))
        return result

    def _latex(self, printer, exp=None):
        parts = [rf"\left({printer._print(a)}\right)" if _needs_parens(a) else printer._print(a) for a in self.args]
        body = r" \odot ".join(parts)
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


def _needs_parens(factor) -> bool:
    """A ⊙ factor that is a sum, or a product, reads ambiguously without parentheses."""
    if isinstance(factor, sympy.Add):
        return True
    if isinstance(factor, Elem):
        return isinstance(factor.array, (sympy.MatMul, sympy.MatAdd, sympy.KroneckerProduct)) or (
            isinstance(factor.array, Elementwise) and isinstance(factor.array.body, (sympy.Add, sympy.Mul)))
    return False


class Indicator(sympy.Expr):
    """Display-only: 𝟙[c], 1 for each entry where the element-wise condition c holds and 0 elsewhere.

    A case split inside an element-wise body is a mask, one condition per
    entry; printed as a brace it reads as one condition on the whole array
    (`{W₂ᵀ(2o − 2y) for W₁x + b₁ > 0; 0 otherwise}·xᵀ`), so it prints as
    𝟙[W₁x + b₁ > 0] ⊙ W₂ᵀ(2o − 2y) instead, the way textbooks write masks.
    """

    is_commutative = True

    @property
    def precedence(self) -> int:
        from sympy.printing.precedence import PRECEDENCE

        return PRECEDENCE["Atom"]

    def _sympystr(self, printer):
        return f"where({printer._print(self.args[0])}, 1, 0)"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        form = prettyForm(*printer._print(self.args[0]).parens("[", "]"))
        return prettyForm(*form.left("𝟙"), binding=prettyForm.ATOM)

    def _latex(self, printer, exp=None):
        body = rf"\mathbb{{1}}\left[{printer._print(self.args[0])}\right]"
        return body if exp is None else f"{body}^{{{exp}}}"


class WhereDisplay(sympy.Expr):
    """Display-only, one-line form of an element-wise case split: where(c, a, b), as NumPy reads it."""

    is_commutative = True

    @property
    def precedence(self) -> int:
        from sympy.printing.precedence import PRECEDENCE

        return PRECEDENCE["Func"]

    def _sympystr(self, printer):
        return f"where({', '.join(printer._print(a) for a in self.args)})"


def is_element_case_split(expr) -> bool:
    """A case split with a condition per entry (it reads an array element): a mask, not one split of an array."""
    return isinstance(expr, sympy.Piecewise) and any(has_free_element(c) for _, c in expr.args)


def _indicators(cases: sympy.Piecewise) -> sympy.Basic:
    """Σ 𝟙[cₖ and no earlier c] ⊙ valueₖ: each piece of the case split as a mask times its value."""
    terms, earlier = [], []
    for value, condition in cases.args:
        holds = sympy.And(condition, *[sympy.Not(c) for c in earlier])
        earlier.append(condition)
        if value == 0 or holds == sympy.false:
            continue
        mask = Indicator(holds)
        terms.append(mask if value == 1 else sympy.Mul(mask, value))
    return sympy.Add(*terms)


def _wheres(cases: sympy.Piecewise) -> sympy.Basic:
    """where(c₁, a₁, where(c₂, a₂, …)): the case split as nested NumPy `where`s."""
    (*pieces, (last, _)) = cases.args
    result = last
    for value, condition in reversed(pieces):
        result = WhereDisplay(condition, value, result)
    return result


def _display(body: sympy.Basic, cases: str = "indicator") -> sympy.Basic:
    """An element-wise body as it prints: w ⊙ x, not w·x; a per-entry case split as masks or `where`s.

    `cases` is "indicator" (𝟙[z > 0] ⊙ g, for the 2-D and LaTeX forms) or
    "where" (where(z > 0, g, 0), the one-line form in the input language).
    Arrays inside the body are not entered: each prints its own body.
    """

    def array_factor(f) -> bool:
        return _has_elem(f) and not (isinstance(f, sympy.Pow) and f.exp.is_negative)

    def hadamard(expr):
        return isinstance(expr, sympy.Mul) and sum(1 for f in expr.args if array_factor(f)) >= 2

    def build(expr):
        others = [f for f in expr.args if not array_factor(f)]
        arrays = sorted((f for f in expr.args if array_factor(f)), key=lambda f: not isinstance(f, Indicator))
        return sympy.Mul(*others, HadamardDisplay(*arrays), evaluate=False) if others else HadamardDisplay(*arrays)

    split = _indicators if cases == "indicator" else _wheres

    def products(expr):
        return build(expr) if hadamard(expr) else expr

    def rule(expr):
        if is_element_case_split(expr):  # its pieces are done; the masks times them are new products
            return _bottom_up_scalars(split(expr), products)
        return products(expr)

    return _bottom_up_scalars(body, rule)


def _bottom_up_scalars(expr, rule):
    """`rule` applied bottom-up to the scalar part of `expr`, not inside arrays or elements (they print themselves)."""
    if not isinstance(expr, sympy.Basic) or isinstance(expr, Elem) or is_array(expr) or not expr.args:
        return expr
    args = tuple(_bottom_up_scalars(a, rule) for a in expr.args)
    if args != expr.args:
        expr = expr.func(*args)
    return rule(expr)


def _has_elem(expr) -> bool:
    return isinstance(expr, Elem) or any(isinstance(a, Elem) for a in sympy.preorder_traversal(expr))


def has_free_element(expr) -> bool:
    """Whether `expr` reads an array element at the current index (so it differs from entry to entry).

    In an element-wise body, Elem(z) > 0 is zᵢ > 0: a condition per entry. An
    Elem inside an array argument is bound by that array instead: sum(w ⊙ x)
    is one number, and in Wᵀ(g ⊙ 𝟙[z > 0]) the mask is indexed by the
    product's own summed index. A case split may be pulled out of an
    element-wise body, or put in front of a matrix, only when its condition
    has no free element; otherwise one condition would decide a whole array.
    """
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Elem):
            return True
        if is_array(node) or not isinstance(node, sympy.Basic):
            continue
        stack.extend(node.args)
    return False


class Elementwise(MatrixExpr):
    """An array whose entries are `body` evaluated element by element."""

    def __new__(cls, body, rows, cols):
        body = body if isinstance(body, sympy.Basic) else sympy.Number(body)
        rows, cols = (d if isinstance(d, sympy.Basic) else sympy.Integer(d) for d in (rows, cols))
        if isinstance(body, Elem) and body.array.shape == (rows, cols):
            return body.array
        if isinstance(body, sympy.logic.boolalg.BooleanAtom):  # w > w: a condition that holds nowhere (or
            return MatrixExpr.__new__(cls, body, rows, cols)   # everywhere) stays a condition, not false·𝟙
        if not _has_elem(body):
            if body == 0:
                return ZeroMatrix(rows, cols)
            if body == 1:
                return Ones(rows, cols)
            return sympy.MatMul(body, Ones(rows, cols))
        return MatrixExpr.__new__(cls, body, rows, cols)

    def doit(self, **hints):
        """Itself: its body is explicit already, with nothing left to evaluate.

        SymPy's printers ask every matrix product whether it can extract a
        minus sign, which builds −M and calls `doit` on the whole tree below
        it; through the bodies of a deep network's adjoints that made printing
        quadratic (JSON of a 32-layer network took 8× its derivation).
        """
        return self

    @property
    def body(self):
        return self.args[0]

    @property
    def shape(self):
        return (self.args[1], self.args[2])

    @property
    def precedence(self) -> int:
        """The precedence of the body as it prints: a mask 𝟙[c] ⊙ g is a product, so (𝟙[c] ⊙ g)·xᵀ."""
        from .render.printable import fast_precedence

        return fast_precedence(_indicators(self.body) if is_element_case_split(self.body) else self.body)

    def _entry(self, i, j, **kwargs):
        return self.body.replace(lambda e: isinstance(e, Elem), lambda e: e.array[i, j])

    def _sympystr(self, printer):
        return printer._print(_display(self.body, cases="where"))

    def _pretty(self, printer):
        return printer._print(_display(self.body))

    def _latex(self, printer, exp=None):
        body = printer._print(_display(self.body))
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


def element_of(array) -> sympy.Basic:
    """The generic element of `array`: an element-wise array's body, a constant array's value."""
    if isinstance(array, Elementwise):
        return array.body
    if isinstance(array, OneMatrix):
        return sympy.Integer(1)
    if isinstance(array, ZeroMatrix):
        return sympy.Integer(0)
    if isinstance(array, sympy.MatMul):
        scalars = [a for a in array.args if not is_array(a)]
        matrices = [a for a in array.args if is_array(a)]
        if scalars and len(matrices) == 1:
            return sympy.Mul(*scalars) * element_of(matrices[0])
    return Elem(array)


class NamedCall:
    """Printing shared by one-argument named operations: diag(v), sum(v), logdet(A), …

    Subclasses set `call_name` (and `call_latex` when LaTeX spells it
    differently); the argument is `args[0]`.
    """

    call_name = ""
    call_latex: str | None = None

    def _sympystr(self, printer):
        return f"{self.call_name}({printer._print(self.args[0])})"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        inner = prettyForm(*printer._print(self.args[0]).parens())
        return prettyForm(*inner.left(self.call_name))

    def _latex(self, printer, exp=None):
        name = self.call_latex or rf"\operatorname{{{self.call_name}}}"
        body = rf"{name}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


def flatten_elements(expr: sympy.Basic) -> sympy.Basic:
    """An element of an element-wise array is that array's body: Elem(Elementwise(b)) → b."""
    if not isinstance(expr, sympy.Basic):
        return expr

    def nested(e) -> bool:
        return isinstance(e, Elem) and element_of(e.array) != e

    def double_transpose(e) -> bool:
        return isinstance(e, sympy.Transpose) and isinstance(e.arg, sympy.Transpose)

    expr = expr.replace(double_transpose, lambda e: e.arg.arg)
    return expr.replace(nested, lambda e: element_of(e.array))


class Diag(NamedCall, MatrixExpr):
    """diag(v): the square matrix with the column v on its diagonal."""

    call_name = "diag"

    def __new__(cls, vector):
        n = vector.shape[0]
        if isinstance(vector, OneMatrix):
            return Identity(n)
        if isinstance(vector, ZeroMatrix):
            return ZeroMatrix(n, n)
        if isinstance(vector, sympy.MatMul) and any(isinstance(a, OneMatrix) for a in vector.args):
            scalar = sympy.Mul(*[a for a in vector.args if not isinstance(a, OneMatrix)])
            return sympy.MatMul(scalar, Identity(n))
        return MatrixExpr.__new__(cls, vector)

    @property
    def vector(self):
        return self.args[0]

    @property
    def shape(self):
        return (self.vector.shape[0], self.vector.shape[0])

    def _eval_transpose(self):
        return self


class ReduceSum(NamedCall, sympy.Expr):
    """sum(v): the sum of an array's entries, a scalar (w·x when it sums w ⊙ x)."""

    call_name = "sum"

    is_commutative = True
    is_real = True

    def __new__(cls, array):
        rows, cols = array.shape
        if isinstance(array, OneMatrix):
            return rows * cols
        if isinstance(array, ZeroMatrix):
            return sympy.Integer(0)
        if isinstance(array, sympy.MatMul) and len(array.args) == 2 and isinstance(array.args[1], OneMatrix) \
                and not is_array(array.args[0]):
            return array.args[0] * rows * cols
        if isinstance(array, Elementwise) and array.body.as_coeff_Mul()[0] == -1:  # sum(−y) = −sum(y)
            return -ReduceSum(Elementwise(-array.body, rows, cols))
        return sympy.Expr.__new__(cls, array)

    @property
    def array(self):
        return self.args[0]

    def _dot_operands(self):
        """(w, x) when this is sum(w ⊙ x) of two arrays: printed w·x, as the paper does."""
        array = self.array
        if isinstance(array, Elementwise) and isinstance(array.body, sympy.Mul) and len(array.body.args) == 2 \
                and all(isinstance(a, Elem) for a in array.body.args):
            return tuple(a.array for a in array.body.args)
        return None

    @property
    def precedence(self) -> int:
        from sympy.printing.precedence import PRECEDENCE

        return PRECEDENCE["Mul"] if self._dot_operands() else PRECEDENCE["Func"]

    def _sympystr(self, printer):
        dot = self._dot_operands()
        if dot:
            return "·".join(printer.parenthesize(a, 999) for a in dot)
        return super()._sympystr(printer)

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        dot = self._dot_operands()
        if dot:
            return prettyForm(*printer._print(dot[0]).right("·", printer._print(dot[1])))
        return super()._pretty(printer)

    def _latex(self, printer, exp=None):
        dot = self._dot_operands()
        if dot:
            body = r" \cdot ".join(printer._print(a) for a in dot)
            return body if exp is None else rf"\left({body}\right)^{{{exp}}}"
        return super()._latex(printer, exp)


def ones_row(n) -> sympy.MatrixExpr:
    """𝟙ᵀ, the row of n ones."""
    return Ones(1, n)


def _scope_case_splits() -> None:
    """SymPy folds the case splits in every condition it builds; see `scoped_fold` for why that must stop at arrays."""
    from .scoped_fold import install

    install()


_scope_case_splits()
