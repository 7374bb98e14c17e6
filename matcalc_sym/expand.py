"""The paper's "grind it down to scalars" check.

Every symbolic dimension becomes a number (3 by default), every array is
written out as scalar components (w₁, w₂, w₃; X₁₁ … X₃₃), the output becomes
explicit scalar component functions, and their derivatives (taken entry by
entry with `sympy.diff`) are compared with the result written out the same
way, in the layout the result promises:

* forward mode: the Jacobian of the components by the variables' entries (a
  row per component, a column per entry; its transpose in denominator
  layout), one block of columns per variable;
* backprop with a scalar output: the gradient by each variable, shaped like
  the variable (denominator layout; transposed in numerator layout);
* backprop with a non-scalar output y: the vector-Jacobian product with the
  upstream gradient ∂J/∂y, Σᵢⱼ (∂J/∂y)ᵢⱼ ∂yᵢⱼ/∂W, shaped like W.

Only the derivative is checked here, not the translation of the input: the
components come from the same expression the derivation started from.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from . import limits
from .adjoint import AdjointMatrix, AdjointScalar
from .arrays import Elem, Elementwise
from .errors import DeriveError
from .operations import of, scalar_classes

#: random points at which two written-out results are compared
POINTS = 20
#: relative tolerance of that comparison (the entries are exact formulas, so only rounding differs)
TOLERANCE = 1e-9
#: digits for re-evaluating an entry that disagrees in double precision
PRECISE_DIGITS = 50


@dataclass(frozen=True)
class ExpansionBlock:
    """One variable's part of the check: what the result should be and what it is, written out."""

    wrt: str
    #: in words, what `jacobian` is (which derivative, in which layout)
    compared: str
    #: the expected value from sympy.diff of the components, laid out as the result promises
    jacobian: sympy.ImmutableMatrix
    #: the derived result for this variable, written out
    vector_result: sympy.ImmutableMatrix
    equal: bool


@dataclass(frozen=True)
class Expansion:
    """The scalar check: component functions, the expected and the derived result, and whether they match.

    `jacobian` and `vector_result` have the form of the derivation's result: a
    matrix, or (backprop by several variables) a tuple of one matrix per
    variable; `blocks` holds the same one variable at a time.
    """

    size: int
    components: sympy.ImmutableMatrix
    jacobian: sympy.Basic
    vector_result: sympy.Basic
    equal: bool
    blocks: tuple[ExpansionBlock, ...] = ()
    #: backprop of a non-scalar output: the name of the upstream gradient (dJ/dy), else None
    upstream: str | None = None

    @property
    def failure(self) -> str | None:
        """None when every block agrees, else one sentence naming the variables that do not."""
        if self.equal:
            return None
        names = ", ".join(block.wrt for block in self.blocks if not block.equal)
        return (f"element-wise check (every dimension = {self.size}) failed: the result by {names} is not "
                "what sympy.diff of the written-out components gives")


def expand_check(derivation, size: int = 3) -> Expansion:
    """Write everything out with every dimension equal to `size` and compare, one block per variable."""
    if not 1 <= size <= 8:
        raise DeriveError(f"expand takes a dimension from 1 to 8, not {size}")
    if size > limits.MAX_DIMENSION:
        raise DeriveError("expand dimension too large")
    explicit = _Explicit(derivation, size)
    components = explicit.matrix(derivation.expression)
    upstream = _upstream_symbol(derivation)
    if derivation.rule == "backprop":
        blocks = [_gradient_block(derivation, explicit, components, upstream, name) for name in derivation.wrt]
        expected, written = _joined(blocks)
    else:
        blocks, expected, written = _forward_blocks(derivation, explicit, components)
    return Expansion(size, sympy.ImmutableMatrix(components), expected, written,
                     all(block.equal for block in blocks), tuple(blocks),
                     upstream.name if upstream is not None else None)


# -- forward mode: one Jacobian over every variable --------------------------


def _forward_blocks(derivation, explicit: _Explicit, components):
    """The Jacobian of the components (transposed in denominator layout), split into a block per variable.

    Forward mode's result by several (scalar) variables is one matrix, a
    column per variable; each block is that variable's columns (rows in
    denominator layout), so a disagreement is named by its variable.
    """
    flat = _flatten(components)
    jacobians = [flat.jacobian(_flatten(explicit.variable(name))) for name in derivation.wrt]
    numerator = sympy.Matrix.hstack(*jacobians)
    by_rows = derivation.layout == "denominator"
    expected = numerator.T if by_rows else numerator
    written = explicit.matrix(derivation.result)
    blocks, start = [], 0
    for name, jacobian in zip(derivation.wrt, jacobians):
        width = jacobian.cols
        want = jacobian.T if by_rows else jacobian
        if written.shape == expected.shape:
            got = written[start:start + width, :] if by_rows else written[:, start:start + width]
        else:
            got = written  # a result of the wrong shape: shown whole, and it cannot agree
        start += width
        blocks.append(ExpansionBlock(name, _forward_words(derivation, name, jacobian), sympy.ImmutableMatrix(want),
                                     sympy.ImmutableMatrix(got), _same_matrices(got, want)))
    return blocks, sympy.ImmutableMatrix(expected), sympy.ImmutableMatrix(written)


def _forward_words(derivation, name: str, jacobian) -> str:
    output = derivation.output
    if jacobian.shape == (1, 1):
        return f"the derivative ∂{output}/∂{name}"
    if derivation.layout == "denominator":
        return (f"the Jacobian ∂{output}/∂{name}, transposed (denominator layout: a row per entry of {name}, "
                f"a column per component of {output})")
    return (f"the Jacobian ∂{output}/∂{name} (numerator layout: a row per component of {output}, "
            f"a column per entry of {name})")


# -- backprop: a gradient (or vector-Jacobian product) per variable ----------


def _gradient_block(derivation, explicit: _Explicit, components, upstream, name: str) -> ExpansionBlock:
    """∂J/∂name from sympy.diff, shaped like the variable (transposed in numerator layout).

    With a scalar output J is the output itself; otherwise J = Σ (∂J/∂y) ⊙ y
    for the upstream symbol ∂J/∂y, whose gradient is the vector-Jacobian
    product the derivation promises.
    """
    variable = explicit.variable(name)
    jacobian = _flatten(components).jacobian(_flatten(variable))
    if upstream is not None:
        weights = _flatten(explicit.matrix(upstream))
        if weights.rows != jacobian.rows:
            raise DeriveError(f"expand: the upstream gradient {upstream.name} is not shaped like the output")
        jacobian = weights.T * jacobian
    elif jacobian.rows != 1:
        raise DeriveError("expand: a backprop result of a non-scalar output needs an upstream gradient")
    expected = jacobian.reshape(variable.rows, variable.cols)
    transposed = derivation.layout == "numerator" and _is_array_variable(derivation, name)
    if transposed:
        expected = expected.T
    written = explicit.matrix(derivation.gradients[name])
    return ExpansionBlock(name, _gradient_words(derivation, name, upstream, transposed),
                          sympy.ImmutableMatrix(expected), sympy.ImmutableMatrix(written),
                          _same_matrices(written, expected))


def _gradient_words(derivation, name: str, upstream, transposed: bool) -> str:
    if upstream is not None:
        output = upstream.name.partition("/d")[2]
        what = f"the vector-Jacobian product Σ ({upstream.name})ᵢⱼ ∂{output}ᵢⱼ/∂{name}"
    else:
        what = f"the gradient of {derivation.output} by each entry of {name}"
    if not _is_array_variable(derivation, name):
        return what
    if transposed:
        return what + f", shaped like {name} and transposed (numerator layout)"
    return what + f", shaped like {name} ({derivation.layout} layout)"


def _is_array_variable(derivation, name: str) -> bool:
    return isinstance(derivation.symbols.get(name), sympy.MatrixSymbol)


def _upstream_symbol(derivation):
    """The upstream gradient ∂J/∂y of a non-scalar output in backprop, or None."""
    return next((s for n, s in derivation.symbols.items()  # a named adjoint (deep backprop) is defined, not given
                 if isinstance(s, (AdjointMatrix, AdjointScalar)) and n not in derivation.definitions), None)


def _joined(blocks: list[ExpansionBlock]):
    """The blocks in the form of the result: one matrix, or a tuple of one per variable."""
    if len(blocks) == 1:
        return blocks[0].jacobian, blocks[0].vector_result
    return (sympy.Tuple(*[b.jacobian for b in blocks]), sympy.Tuple(*[b.vector_result for b in blocks]))


def _flatten(matrix) -> sympy.Matrix:
    """Entries in row-major order (NumPy's ravel) as a column."""
    matrix = sympy.Matrix(matrix)
    return matrix.reshape(matrix.rows * matrix.cols, 1)


# -- the comparison ----------------------------------------------------------


def _same_matrices(got, want) -> bool:
    """Equal shapes and entries; a bare 0 also stands for a zero array of unknown shape."""
    got, want = sympy.Matrix(got), sympy.Matrix(want)
    if got.shape != want.shape:
        return got.shape == (1, 1) and got[0] == 0 and all(entry == 0 for entry in want)
    pending = [(a, b) for a, b in zip(got, want) if a - b != 0]
    return not pending or _numerically_equal(pending)


def _numerically_equal(pairs) -> bool:
    """Every pair agrees at `POINTS` random points (where both sides are finite), and at one at least.

    Two different rational or analytic formulas agree at a random point with
    probability zero, so this decides what symbolic simplification might not
    (case splits, tanh identities) in bounded time.
    """
    import numpy as np

    left = [a for a, _ in pairs]
    right = [b for _, b in pairs]
    free = sorted(set().union(*[a.free_symbols | b.free_symbols for a, b in pairs]), key=str)  # not of a − b:
    # what cancels there (A₁₁X₂₁ on both sides) is still read by each side's own code
    rng = np.random.default_rng(0)
    points = rng.uniform(-2, 2, size=(POINTS, len(free)))
    with np.errstate(all="ignore"):
        want, got = (_values(side, free, points) for side in (right, left))
    finite = np.isfinite(want) & np.isfinite(got)
    close = np.abs(want - got) <= TOLERANCE * np.maximum(1.0, np.maximum(np.abs(want), np.abs(got)))
    for point, entry in np.argwhere(finite & ~close):
        if _differ_precisely(left[entry], right[entry], free, points[point]):
            return False
    return bool(np.all(finite.any(axis=0)))


def _differ_precisely(a, b, free: list, point) -> bool:
    """One disagreement re-evaluated with `PRECISE_DIGITS` digits: rounding in doubles is not a difference.

    Near a singular matrix the two formulas can lose many digits in NumPy's
    doubles; evaluated exactly enough they agree unless the formulas differ.
    """
    at = {symbol: sympy.Float(float(value), PRECISE_DIGITS) for symbol, value in zip(free, point)}
    try:
        x, y = (complex(side.xreplace(at).evalf(PRECISE_DIGITS)) for side in (a, b))
    except (TypeError, ValueError):
        return True  # not a number there after all: nothing shows they agree
    return abs(x - y) > TOLERANCE * max(1.0, abs(x), abs(y))


def _values(expressions: list, free: list, points):
    """Each expression at each point (a points × expressions complex array); NaN where undefined."""
    import numpy as np

    try:
        function = sympy.lambdify(free, expressions, modules=[{"DiracDelta": _dirac_delta}, "numpy"], cse=True)
        rows = [[_complex(v) for v in function(*point)] for point in points]
    except NameError:  # a special function NumPy lacks (polygamma, …): mpmath, one entry at a time
        functions = [sympy.lambdify(free, e, modules="mpmath") for e in expressions]
        rows = [[_guarded(f, point) for f in functions] for point in points]
    return np.array(rows, dtype=complex)


def _dirac_delta(x, *order):
    """sympy.diff(sign(x)) is 2·DiracDelta(x): 0 wherever it is compared, undefined at 0 itself."""
    import numpy as np

    return np.where(np.asarray(x) == 0, np.nan, 0.0)


def _guarded(function, point) -> complex:
    try:
        return _complex(function(*[float(p) for p in point]))
    except (ValueError, ZeroDivisionError, TypeError, OverflowError):
        return complex("nan")


def _complex(value) -> complex:
    try:
        return complex(value)
    except (TypeError, ValueError, OverflowError):
        return complex("nan")


# -- writing arrays out ------------------------------------------------------


class _Explicit:
    """A symbolic interpreter: each array expression as an explicit SymPy matrix.

    Inputs become matrices of real entry symbols; named intermediate results
    (c in c = tanh(…)), which backprop keeps in its answer, become their
    definitions written out, so both sides are functions of the inputs alone.
    """

    def __init__(self, derivation, size: int) -> None:
        self.size = size
        self.dims: dict = {}
        self.env: dict = {}
        self.scalars: dict = {}
        self.cache: dict = {}
        definitions = derivation.definitions
        for name, symbol in derivation.symbols.items():
            if isinstance(symbol, sympy.MatrixSymbol) and name not in definitions:
                self.env[symbol] = self._entries(name, symbol)
        for name, definition in definitions.items():
            symbol = derivation.symbols.get(name)
            if symbol is None:
                continue
            value = self.value(definition)
            if isinstance(symbol, sympy.MatrixSymbol):
                self.env[symbol] = value if isinstance(value, sympy.MatrixBase) else sympy.Matrix([[value]])
            else:
                self.scalars[symbol] = value
        self.symbols = derivation.symbols

    def _entries(self, name: str, symbol) -> sympy.Matrix:
        rows, cols = (self._dim(d) for d in symbol.shape)
        return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{name}{_index(i, j, rows, cols)}", real=True))

    def variable(self, name: str) -> sympy.Matrix:
        """A wrt variable's entries as a matrix (a scalar as 1×1; one the output lacks as a fresh scalar)."""
        symbol = self.symbols.get(name)
        if symbol is None:
            return sympy.Matrix([[sympy.Symbol(name, real=True)]])
        return self.matrix(symbol)

    def _dim(self, dim) -> int:
        if isinstance(dim, sympy.Symbol):
            self.dims.setdefault(dim, self.size)
            return self.size
        if not dim.is_Integer:  # a product of dimensions (kron's m·n): each factor is `size`
            return int(dim.xreplace({d: self.size for d in dim.free_symbols}))
        return int(dim)

    def matrix(self, expr) -> sympy.Matrix:
        value = self.value(expr)
        return value if isinstance(value, sympy.MatrixBase) else sympy.Matrix([[value]])

    def value(self, expr):
        """`expr` written out: a matrix for an array, else a scalar expression (each computed once)."""
        if expr in self.env:
            return self.env[expr]
        if expr in self.scalars:
            return self.scalars[expr]
        if expr not in self.cache:
            self.cache[expr] = self._compute(expr)
        return self.cache[expr]

    def _compute(self, expr):
        if isinstance(expr, sympy.Identity):
            return sympy.eye(self._dim(expr.shape[0]))
        if isinstance(expr, sympy.OneMatrix):
            return sympy.ones(self._dim(expr.shape[0]), self._dim(expr.shape[1]))
        if isinstance(expr, sympy.ZeroMatrix):
            return sympy.zeros(self._dim(expr.shape[0]), self._dim(expr.shape[1]))
        if isinstance(expr, sympy.Transpose):
            return self.value(expr.arg).T
        if isinstance(expr, sympy.MatMul):
            result = sympy.Integer(1)
            for factor in expr.args:
                result = result * self.value(factor)
            return result
        if isinstance(expr, sympy.MatAdd):
            values = [self.value(a) for a in expr.args]
            return sum(values[1:], values[0])
        declared = of(expr)
        if declared is not None:  # a declared operation writes itself out (matcalc_sym.operations)
            return declared.explicit([self.matrix(a) for a in declared.operands(expr)], expr)
        if isinstance(expr, sympy.BlockMatrix):
            return sympy.Matrix(sympy.BlockMatrix([[self.value(b) for b in row] for row in expr.blocks.tolist()]))
        if isinstance(expr, sympy.MatrixBase):
            return expr.applyfunc(self.value)
        if isinstance(expr, Elementwise):
            rows, cols = (self._dim(d) for d in expr.shape)
            return sympy.Matrix(rows, cols, lambda i, j: self._element(expr.body, i, j, (rows, cols)))
        if isinstance(expr, sympy.Piecewise):
            return self._cases(expr)
        return self._element(expr, 0, 0)

    def _cases(self, expr: sympy.Piecewise):
        """A case split of whole arrays (or scalars): each condition written out once, then entry by entry."""
        conditions = [self._condition(c) for _, c in expr.args]
        values = [self.value(v) for v, _ in expr.args]
        if not any(isinstance(v, sympy.MatrixBase) for v in values):
            return sympy.Piecewise(*zip(values, conditions))
        matrices = [v if isinstance(v, sympy.MatrixBase) else sympy.Matrix([[v]]) for v in values]
        shape = next((m.shape for m in matrices if m.shape != (1, 1)), (1, 1))
        return sympy.Matrix(*shape, lambda i, j: sympy.Piecewise(
            *[(_entry(m, i, j, shape), c) for m, c in zip(matrices, conditions)]))

    def _condition(self, condition):
        """A case's condition; one on whole arrays holds where it holds for every element.

        Conditions are meant per element (inside `Elementwise`); a result that
        puts one on a whole vector has no other single reading, and this one
        makes it disagree with the per-element derivative wherever the
        elements' conditions differ, instead of looking at one element.
        """
        shapes = {self.matrix(atom.array).shape for atom in _outer_elements(condition)} - {(1, 1)}
        if not shapes:
            return self._element(condition, 0, 0)
        if len(shapes) > 1:
            raise DeriveError(f"expand: a condition on arrays of different shapes ({condition})")
        ((rows, cols),) = shapes
        return sympy.And(*[self._element(condition, i, j, (rows, cols)) for i in range(rows) for j in range(cols)])

    def _element(self, body, i: int, j: int, shape: tuple = (1, 1)):
        """Entry (i, j) of an element-wise body of `shape`; sums and symbols inside are written out too."""
        replacements = {}
        walk = sympy.preorder_traversal(body)
        for atom in walk:
            if isinstance(atom, Elem):
                replacements[atom] = _entry(self.matrix(atom.array), i, j, shape)
            elif isinstance(atom, scalar_classes()):  # sum, trace, det, …: written out whole
                replacements[atom] = self.value(atom)
            else:
                continue
            walk.skip()  # written out whole: an element-wise body nested inside has its own shape
        return body.xreplace(replacements).xreplace(self.scalars).xreplace(self.dims)


def _outer_elements(expr) -> list:
    """The `Elem` atoms of `expr` outside any nested element-wise body."""
    found = []
    walk = sympy.preorder_traversal(expr)
    for atom in walk:
        if isinstance(atom, Elem):
            found.append(atom)
            walk.skip()
    return found


def _entry(matrix, i: int, j: int, shape: tuple):
    """Entry (i, j) of an operand of an element-wise expression of `shape` (a 1×1 operand has one entry).

    The translation broadcasts operands explicitly (𝟙·bᵀ), so an operand of
    any other shape is not guessed at: which axis it would stretch along is
    exactly what must not be decided here.
    """
    if matrix.shape == (1, 1):
        return matrix[0, 0]
    if matrix.shape != tuple(shape):
        raise DeriveError(f"expand: an element-wise operand of shape {matrix.rows}×{matrix.cols} "
                          f"in an expression of shape {shape[0]}×{shape[1]}")
    return matrix[i, j]


def _index(i: int, j: int, rows: int, cols: int) -> str:
    if cols == 1:
        return f"_{i + 1}"
    return f"_{i + 1}{j + 1}"
