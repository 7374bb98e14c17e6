"""Indexing with literal integers and slices, as matrix algebra: X[i] = Xᵀeᵢ, X[:, j] = X eⱼ, x[i] = eᵢᵀx.

The paper has no indexing operator, but it has unit vectors: picking row i of
X is multiplying by eᵢᵀ on the left, picking column j is multiplying by eⱼ
on the right, and a slice is a product with a selection matrix S (rows a:b
of the identity). Written that way the steps read as matrix algebra, and the
vector-Jacobian product is the same algebra transposed: the adjoint
scattered into zeros at the positions taken (∂J/∂X = eᵢ (∂J/∂u)ᵀ for a row).

An index is resolved against the operand's declared shape once, in the
parser (`resolve`), into one entry per axis:

* ("take", k): an integer index, the axis dropped (NumPy index k, from 0);
* ("one", k): a slice of length one (X[:1], X[-1:]), the axis kept;
* ("range", start, stop, step): a longer slice (whole-number sizes only);
* ("all",): the whole axis.

On a symbolic dimension n only what is valid, and of the same length, for
every n ≥ 1 is accepted: the indices 0 and -1 and the slices ':', ':1' and
'-1:'.
"""

from __future__ import annotations

import sympy
from sympy import MatrixExpr
from sympy.core.sympify import _sympify as as_sympy  # strict: SymPy values and numbers, never text

from ..errors import ShapeError
from .registry import Operation, register

#: the operation's name in the graph and the rules tables (not a function of the input language)
NAME = "index"
#: how the input language spells the slice bounds it reads: None or a whole number
Bound = int | None


# -- the constants: unit vectors and selection matrices ------------------------------------------


class UnitVector(MatrixExpr):
    """eₖ: the column of `size` entries with a 1 at NumPy index k (k = -1: the last, whatever the size);
    eₖᵀ, the row, when `row` (its own form, so it prints eₖᵀ rather than (eₖ)ᵀ)."""

    def __new__(cls, size, index, row=False):
        # `size` is a dimension (a SymPy symbol or a whole number); the strict conversion refuses text
        return MatrixExpr.__new__(cls, as_sympy(size), sympy.Integer(index), sympy.true if row else sympy.false)

    @property
    def size(self):
        return self.args[0]

    @property
    def index(self) -> int:
        return int(self.args[1])

    @property
    def row(self) -> bool:
        return bool(self.args[2])

    @property
    def shape(self):
        one = sympy.Integer(1)
        return (one, self.size) if self.row else (self.size, one)

    def _eval_transpose(self):
        return UnitVector(self.size, self.index, not self.row)

    def _entry(self, i, j, **kwargs):
        position = self.index if self.index >= 0 else self.size + self.index
        return sympy.KroneckerDelta(j if self.row else i, position)

    def _sympystr(self, printer):
        return f"e_{self.index}" + (".T" if self.row else "")

    def _pretty(self, printer):
        from sympy.printing.pretty.pretty_symbology import pretty_symbol
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(pretty_symbol(f"e_{self.index}") + ("ᵀ" if self.row else ""))

    def _latex(self, printer, exp=None):
        body = rf"\mathbf{{e}}_{{{self.index}}}" + ("^{T}" if self.row else "")
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


class Selection(MatrixExpr):
    """S: the rows start, start + step, … (count of them) of the identity of `size`, so S·X takes those
    rows of X; Sᵀ when `transposed` (X·Sᵀ takes those columns)."""

    def __new__(cls, size, start, step, count, transposed=False):
        return MatrixExpr.__new__(cls, sympy.Integer(size), sympy.Integer(start), sympy.Integer(step),
                                  sympy.Integer(count), sympy.true if transposed else sympy.false)

    @property
    def picks(self) -> range:
        """The indices taken (not `rows`: SymPy reads MatrixExpr.rows as the row count)."""
        size, start, step, count = (int(a) for a in self.args[:4])
        return range(start, start + step * count, step)

    @property
    def transposed(self) -> bool:
        return bool(self.args[4])

    @property
    def shape(self):
        shape = (self.args[3], self.args[0])
        return shape[::-1] if self.transposed else shape

    def _eval_transpose(self):
        return Selection(*self.args[:4], not self.transposed)

    def _entry(self, i, j, **kwargs):
        row, column = (j, i) if self.transposed else (i, j)
        return sympy.KroneckerDelta(column, self.args[1] + self.args[2] * row)

    def spelled(self) -> str:
        """The slice as NumPy would write it: 1:3, 0:6:2, 4::-1."""
        return _slice_text(self.picks)

    def _sympystr(self, printer):
        return f"S[{self.spelled()}]" + (".T" if self.transposed else "")

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(f"S[{self.spelled()}]" + ("ᵀ" if self.transposed else ""))

    def _latex(self, printer, exp=None):
        body = rf"\mathrm{{S}}_{{{self.spelled()}}}" + ("^{T}" if self.transposed else "")
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


def _slice_text(rows: range) -> str:
    stop = "" if rows.stop < 0 else str(rows.stop)
    return f"{rows.start}:{stop}" if rows.step == 1 else f"{rows.start}:{stop}:{rows.step}"


class Picked(sympy.Expr):
    """One entry picked out of an array: the 1×1 product eᵢᵀx (or eᵢᵀXeⱼ) as the scalar it is."""

    is_commutative = True
    is_real = True

    def __new__(cls, product):
        return sympy.Expr.__new__(cls, product)

    @property
    def product(self):
        return self.args[0]

    @property
    def precedence(self) -> int:
        from sympy.printing.precedence import PRECEDENCE

        return PRECEDENCE["Mul"]

    def _sympystr(self, printer):
        return printer._print(self.product)

    def _pretty(self, printer):
        return printer._print(self.product)

    def _latex(self, printer, exp=None):
        body = printer._print(self.product)
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


# -- reading an index against a shape ------------------------------------------------------------


def resolve(items: list, shape: tuple, name: str) -> tuple:
    """One entry per axis of `shape` for the index `items` (ints, or (start, stop, step) slices).

    Raises a ShapeError that says why an index is refused: out of bounds, an
    empty slice, too many indices, or one whose meaning depends on the size
    of a symbolic dimension.
    """
    from ..shapes import show

    if not shape:
        raise ShapeError(f"indexing: {name} is a scalar; only arrays (declared with a shape) can be indexed")
    if len(items) > len(shape):
        raise ShapeError(f"indexing: {name} has shape {show(shape)}, {len(shape)} axis(es), "
                         f"but {len(items)} indices were given")
    padded = list(items) + [(None, None, None)] * (len(shape) - len(items))
    return tuple(_axis(item, dim, axis) for axis, (item, dim) in enumerate(zip(padded, shape)))


def _axis(item, dim, axis: int) -> tuple:
    if isinstance(item, int):
        return _integer(item, dim, axis)
    start, stop, step = item
    if step == 0:
        raise ShapeError("indexing: a slice step cannot be zero")
    if dim.is_Integer:
        return _concrete_slice(slice(start, stop, step), int(dim), axis)
    return _symbolic_slice(start, stop, step, dim, axis)


def _integer(index: int, dim, axis: int) -> tuple:
    if dim.is_Integer:
        size = int(dim)
        if not -size <= index < size:
            from ..limits import abbreviate

            raise ShapeError(f"indexing: index {abbreviate(index)} is out of bounds for axis {axis} with size {size}")
        return ("take", index % size)
    if index not in (0, -1):
        raise ShapeError(f"indexing: index {index} on axis {axis}, of symbolic size {dim}: only 0 (the first) and "
                         f"-1 (the last) are valid for every size; declare {dim} as a whole number to use {index}")
    return ("take", index)


def _concrete_slice(bounds: slice, size: int, axis: int) -> tuple:
    rows = range(size)[bounds]
    if not rows:
        raise ShapeError(f"indexing: the slice selects nothing along axis {axis} (size {size})")
    if rows == range(size):
        return ("all",)
    if len(rows) == 1:
        return ("one", rows.start)
    return ("range", rows.start, rows.stop, rows.step)


def _symbolic_slice(start: Bound, stop: Bound, step: Bound, dim, axis: int) -> tuple:
    """Only slices whose entries and length are the same for every size ≥ 1: ':', ':1' and '-1:'."""
    if step in (None, 1):
        if start in (None, 0) and stop is None:
            return ("all",)
        if start in (None, 0) and stop == 1:
            return ("one", 0)
        if start == -1 and stop is None:
            return ("one", -1)
    raise ShapeError(f"indexing: along axis {axis}, of symbolic size {dim}, this slice's length depends on {dim}; "
                     f"only ':', ':1' and '-1:' are valid for every size; declare {dim} as a whole number")


def result_shape(spec: tuple, shape: tuple) -> tuple:
    """NumPy's shape of the indexed array: taken axes dropped, slices' lengths kept."""
    out = []
    for entry, dim in zip(spec, shape):
        if entry[0] == "one":
            out.append(sympy.Integer(1))
        elif entry[0] == "range":
            out.append(sympy.Integer(len(range(*entry[1:]))))
        elif entry[0] == "all":
            out.append(dim)
    return tuple(out)


def spelled(spec: tuple) -> str:
    """The index as NumPy text, normalized: 0, :, 1, 1:3, -1:."""
    parts = []
    for entry in spec:
        if entry[0] == "take":
            parts.append(str(entry[1]))
        elif entry[0] == "one":
            parts.append(f"{entry[1]}:{entry[1] + 1}" if entry[1] >= 0 else "-1:")
        elif entry[0] == "range":
            parts.append(_slice_text(range(*entry[1:])))
        else:
            parts.append(":")
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return ", ".join(parts)


# -- the algebra: U = A X B with unit vectors and selections ------------------------------------


def _left(entry, dim):
    """The factor that takes rows: eₖᵀ or S (None for the whole axis)."""
    if entry[0] in ("take", "one"):
        return UnitVector(dim, entry[1], row=True)
    if entry[0] == "range":
        start, stop, step = entry[1:]
        return Selection(dim, start, step, len(range(start, stop, step)))
    return None


def _right(entry, dim):
    """The factor that takes columns: eₖ or Sᵀ (None for the whole axis)."""
    return _transposed(_left(entry, dim))


def _transposed(factor):
    """A unit vector's or selection's transpose is its own other form (eₖ ↔ eₖᵀ, S ↔ Sᵀ)."""
    return None if factor is None else factor.T


def _product(*factors):
    present = [f for f in factors if f is not None]
    return present[0] if len(present) == 1 else sympy.MatMul(*present)


def _factors(spec: tuple, operand_shape: tuple) -> tuple:
    """(A, B, scalar?, row?) with U = A X B (None for a whole axis): `scalar` when every axis is taken
    (x[i], X[i, j]), `row` when a matrix's row axis is taken but not its columns (X[i], a 1-D row)."""
    if len(operand_shape) == 1:
        return _left(spec[0], operand_shape[0]), None, spec[0][0] == "take", False
    rows, cols = spec
    taken = (rows[0] == "take", cols[0] == "take")
    return _left(rows, operand_shape[0]), _right(cols, operand_shape[1]), all(taken), taken == (True, False)


def _spec(params: dict) -> tuple:
    return params["index"]


def _shape(arg_shapes, params):
    return result_shape(_spec(params), arg_shapes[0])


def _build(args, arg_shapes, shape, params):
    """x[i] = eᵢᵀx, x[a:b] = S x; X[i] = Xᵀeᵢ (a 1-D result is a column), X[:, j] = X eⱼ, X[a:b, c:d] = S X Tᵀ."""
    (operand,), (operand_shape,) = args, arg_shapes
    a, b, scalar, row = _factors(_spec(params), operand_shape)
    if scalar:
        return Picked(_product(a, operand, b))
    if row:  # 1-D, so stored as the column (eᵢᵀ X B)ᵀ = Bᵀ Xᵀ eᵢ
        return _product(_transposed(b), sympy.Transpose(operand), _transposed(a))
    return _product(a, operand, b)


def _vjp(c):
    """∂J/∂X = Aᵀ G Bᵀ for U = A X B: the adjoint scattered into zeros at the positions taken."""
    node = c.node
    operand_shape = node.args[0].shape
    a, b, scalar, row = _factors(_spec(dict(node.value)), operand_shape)
    grad = c.grad
    if scalar:
        return grad * _product(_transposed(a), _transposed(b))
    if row:  # U = Bᵀ Xᵀ eᵢ: ∂J/∂X = eᵢ Gᵀ Bᵀ
        return _product(_transposed(a), sympy.Transpose(grad), _transposed(b))
    return _product(_transposed(a), grad, _transposed(b))


def _jacobian(c):
    """∂x[i]/∂x = eᵢᵀ, ∂x[a:b]/∂x = S (a 1-D operand: forward mode)."""
    node = c.node
    (entry,) = _spec(dict(node.value))
    return _left(entry, node.args[0].shape[0])


# -- values: NumPy, NumPy code, written out ------------------------------------------------------


def _operands(expr) -> tuple:
    """A picked entry's operand is its product; a unit vector's or a selection's is its size (a number or
    a dimension), so evaluators know the size where they compute it, and never build an identity."""
    return (expr.product,) if isinstance(expr, Picked) else (expr.args[0],)


def _value(np, values, expr):
    if isinstance(expr, Picked):
        return float(np.asarray(values[0]).reshape(-1)[0])
    size = int(np.asarray(values[0]).reshape(-1)[0])
    if isinstance(expr, UnitVector):
        column = np.zeros((size, 1))
        column[expr.index, 0] = 1.0
        return column.T if expr.row else column
    rows = expr.picks
    matrix = np.zeros((len(rows), size))
    matrix[np.arange(len(rows)), np.asarray(rows, dtype=int)] = 1.0
    return matrix.T if expr.transposed else matrix


def _code(codes, expr, np):
    if isinstance(expr, Picked):
        return f"{np('asarray')}({codes[0]}).reshape(-1)[0]"
    if isinstance(expr, UnitVector):
        return f"_unit({codes[0]}, {expr.index}, {expr.row})"
    rows = expr.picks
    return f"_selection({codes[0]}, {rows.start}, {rows.stop}, {rows.step}, {expr.transposed})"


def _explicit(values, expr):
    if isinstance(expr, Picked):
        return values[0][0, 0]
    size = int(values[0][0, 0])
    if isinstance(expr, UnitVector):
        position = expr.index % size
        column = sympy.Matrix(size, 1, lambda i, j: 1 if i == position else 0)
        return column.T if expr.row else column
    rows = list(expr.picks)
    matrix = sympy.Matrix(len(rows), size, lambda i, j: 1 if j == rows[i] else 0)
    return matrix.T if expr.transposed else matrix


register(Operation(
    NAME, callable=False, shape=_shape, build=_build, classes=(UnitVector, Selection, Picked),
    operands=_operands, value=_value, code=_code, explicit=_explicit,
    jacobians={"selection": _jacobian},
    vjps={"scatter": _vjp},
))
