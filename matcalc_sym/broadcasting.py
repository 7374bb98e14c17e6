"""NumPy broadcasting and its adjoint, written once, on NumPy shapes.

Arrays are SymPy matrices here, and a 1-D array of n entries is stored as an
n×1 column (the paper's vectors are columns). NumPy, though, lines shapes up
from the right, so a 1-D array is a *row* against a matrix: shape (n,) meets
(m, n) as 1×n, also when m = n. Deciding that from the stored n×1 shape is a
guess that fails exactly for square matrices, so both functions take the
operand's NumPy shape and the result's, as autograd's `unbroadcast` does.

The rule, both ways: read the operand as NumPy's 2-D form (a 1-D array is the
row `vᵀ`), stretch (or sum over) each axis where it has 1 and the result has
more, and store the result the package's way (1-D as a column again).
"""

from __future__ import annotations

import sympy

from .arrays import Ones, ReduceSum, is_array

Shape = tuple


def _numpy_2d(array, shape: Shape):
    """The stored array as NumPy lines it up against a matrix: a 1-D array is a row."""
    return array.T if len(shape) == 1 else array


def _stored(array, shape: Shape):
    """A NumPy 2-D form back in the package's storage (1-D results are columns)."""
    return array.T if len(shape) == 1 else array


def _rows_cols(shape: Shape) -> tuple:
    return (sympy.Integer(1), shape[0]) if len(shape) == 1 else tuple(shape)


def broadcast_to(array, shape: Shape, target: Shape):
    """`array` (of NumPy shape `shape`) stretched to the NumPy shape `target`, with ones vectors."""
    if not is_array(array) or tuple(shape) == tuple(target):
        return array
    matrix = _numpy_2d(array, shape)
    (p, q), (m, n) = _rows_cols(shape), _rows_cols(target)
    if p != m:
        matrix = sympy.MatMul(Ones(m, 1), matrix)
    if q != n:
        matrix = sympy.MatMul(matrix, Ones(1, n))
    return _stored(matrix, target)


def unbroadcast(grad, shape: Shape, target: Shape) -> tuple[sympy.Basic, str]:
    """The adjoint of `broadcast_to`: `grad` (NumPy shape `target`) summed back to `shape`.

    Also says which axes were summed, for the step's explanation.
    """
    if not is_array(grad) or tuple(shape) == tuple(target):
        return grad, ""
    if not shape:
        return ReduceSum(grad), "all elements"
    matrix = _numpy_2d(grad, target)
    (p, q), (m, n) = _rows_cols(shape), _rows_cols(target)
    summed = []
    if p != m:
        matrix = sympy.MatMul(Ones(1, m), matrix)
        summed.append("the rows")
    if q != n:
        matrix = sympy.MatMul(matrix, Ones(n, 1))
        summed.append("the columns")
    axes = "every entry" if len(summed) == 2 else summed[0] if summed and len(target) == 2 else "all elements"
    return _stored(matrix, shape), axes
