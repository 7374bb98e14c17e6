"""The paper's "grind it down to scalars" check.

Every symbolic dimension becomes a number (3 by default), every vector is
written out as components w₁, w₂, w₃, the output becomes explicit scalar
component functions, and their Jacobian (taken entry by entry with
`sympy.diff`) is compared with the vector result written out the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from . import limits
from .arrays import Diag, Elem, Elementwise, ReduceSum
from .errors import DeriveError
from .matfuncs import DiagPart, LogDet, Norm, Norm1


@dataclass(frozen=True)
class Expansion:
    """The scalar check: component functions, their Jacobian, and whether it matches."""

    size: int
    components: sympy.ImmutableMatrix
    jacobian: sympy.ImmutableMatrix
    vector_result: sympy.ImmutableMatrix
    equal: bool


def expand_check(derivation, size: int = 3) -> Expansion:
    """Write everything out with every dimension equal to `size` and compare."""
    if not 1 <= size <= 8:
        raise DeriveError(f"expand takes a dimension from 1 to 8, not {size}")
    if size > limits.MAX_DIMENSION:
        raise DeriveError("expand dimension too large")
    explicit = _Explicit(derivation.symbols, size)
    outputs = explicit.matrix(derivation.expression)
    (wrt,) = derivation.wrt if len(derivation.wrt) == 1 else (None,)
    if wrt is None:
        raise DeriveError("expand checks one wrt variable at a time")
    variables = list(explicit.matrix(derivation.symbols[wrt]))
    jacobian = sympy.ImmutableMatrix(outputs).jacobian(variables)
    result = explicit.matrix(derivation.result)
    if derivation.layout == "denominator":
        result = result.T
    if result.shape != jacobian.shape and result.shape == jacobian.T.shape:
        raise DeriveError("expand: the vector result has the transposed shape")
    equal = all(_same(a, b) for a, b in zip(result, jacobian))
    return Expansion(size, sympy.ImmutableMatrix(outputs), sympy.ImmutableMatrix(jacobian),
                     sympy.ImmutableMatrix(result), equal)


def _same(a, b) -> bool:
    """Equal symbolically, or (for case splits SymPy simplifies slowly) at 20 random points."""
    difference = a - b
    if difference == 0:
        return True
    if not difference.has(sympy.Piecewise, sympy.Heaviside) and sympy.count_ops(difference) < 200 \
            and sympy.simplify(difference) == 0:
        return True
    import numpy as np

    free = sorted(difference.free_symbols, key=str)
    left, right = (sympy.lambdify(free, side, modules="numpy") for side in (a, b))
    rng = np.random.default_rng(0)
    agreed = 0
    with np.errstate(all="ignore"):
        for _ in range(20):
            point = rng.uniform(-2, 2, size=len(free))
            want, got = complex(left(*point)), complex(right(*point))
            if not (np.isfinite(want) and np.isfinite(got)):
                continue
            if abs(want - got) > 1e-9 * max(1.0, abs(want)):
                return False
            agreed += 1
    return agreed > 0


class _Explicit:
    """A symbolic interpreter: each array expression as an explicit SymPy matrix."""

    def __init__(self, symbols, size: int) -> None:
        self.size = size
        self.dims: dict = {}
        self.env: dict = {}
        for name, symbol in symbols.items():
            if isinstance(symbol, sympy.MatrixSymbol):
                rows, cols = (self._dim(d) for d in symbol.shape)
                entries = [[sympy.Symbol(f"{name}{_index(i, j, rows, cols)}", real=True) for j in range(cols)]
                           for i in range(rows)]
                self.env[symbol] = sympy.Matrix(entries)

    def _dim(self, dim) -> int:
        if isinstance(dim, sympy.Symbol):
            self.dims.setdefault(dim, self.size)
            return self.size
        return int(dim)

    def matrix(self, expr) -> sympy.Matrix:
        value = self.value(expr)
        return value if isinstance(value, sympy.MatrixBase) else sympy.Matrix([[value]])

    def value(self, expr):
        if expr in self.env:
            return self.env[expr]
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
        if isinstance(expr, Diag):
            return sympy.diag(*list(self.value(expr.vector)))
        if isinstance(expr, DiagPart):
            m = self.matrix(expr.arg)
            return sympy.Matrix([m[i, i] for i in range(m.rows)])
        if isinstance(expr, sympy.Inverse):
            return self.matrix(expr.arg).inv()
        if isinstance(expr, sympy.Trace):
            return self.matrix(expr.arg).trace()
        if isinstance(expr, sympy.Determinant):
            return self.matrix(expr.arg).det()
        if isinstance(expr, LogDet):
            return sympy.log(self.matrix(expr.arg).det())
        if isinstance(expr, Norm1):
            return sum(sympy.Abs(e) for e in self.matrix(expr.arg))
        if isinstance(expr, Norm):
            return sympy.sqrt(sum(e**2 for e in self.matrix(expr.arg)))
        if isinstance(expr, sympy.BlockMatrix):
            return sympy.Matrix(sympy.BlockMatrix([[self.value(b) for b in row] for row in expr.blocks.tolist()]))
        if isinstance(expr, sympy.MatrixBase):
            return expr.applyfunc(self.value)
        if isinstance(expr, Elementwise):
            rows, cols = (self._dim(d) for d in expr.shape)
            return sympy.Matrix(rows, cols, lambda i, j: self._element(expr.body, i, j))
        if isinstance(expr, sympy.Piecewise) and any(isinstance(v, sympy.MatrixExpr) for v, _ in expr.args):
            cases = [(self.matrix(v), self.value(c)) for v, c in expr.args]
            shape = next(m.shape for m, _ in cases)
            return sympy.Matrix(*shape, lambda i, j: sympy.Piecewise(*[(m[i, j], c) for m, c in cases]))
        return self._element(expr, 0, 0)

    def _element(self, body, i: int, j: int):
        """Entry (i, j) of an element-wise body; sums and symbols inside are written out too."""
        replacements = {}
        for atom in sympy.preorder_traversal(body):
            if isinstance(atom, Elem):
                array = self.matrix(atom.array)
                replacements[atom] = array[i if array.rows > 1 else 0, j if array.cols > 1 else 0]
            elif isinstance(atom, ReduceSum):
                replacements[atom] = sum(self.matrix(atom.array))
            elif isinstance(atom, (sympy.Trace, sympy.Determinant, LogDet, Norm)):
                replacements[atom] = self.value(atom)
        return body.xreplace(replacements).xreplace(self.dims)


def _index(i: int, j: int, rows: int, cols: int) -> str:
    if cols == 1:
        return f"_{i + 1}"
    return f"_{i + 1}{j + 1}"
