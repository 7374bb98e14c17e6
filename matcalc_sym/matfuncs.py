"""Matrix functions SymPy lacks or leaves awkward: log det, norms, the diagonal of a matrix.

trace, det and inv are SymPy's own `Trace`, `Determinant` and `Inverse`.
These classes only name and print; their derivatives are vector-Jacobian
products in rules/matrix.toml, never SymPy's (which returns 0 for log det).
"""

from __future__ import annotations

import sympy

from .arrays import NamedCall


class LogDet(NamedCall, sympy.Expr):
    """log det(A), for A with a positive determinant."""

    call_name = "logdet"
    call_latex = r"\log\det"

    is_commutative = True
    is_real = True

    def __new__(cls, matrix):
        return sympy.Expr.__new__(cls, matrix)

    @property
    def arg(self):
        return self.args[0]


class Norm(sympy.Expr):
    """‖x‖: the Euclidean norm of a vector, the Frobenius norm of a matrix."""

    is_commutative = True
    is_real = True
    is_nonnegative = True
    _order = None
    _bars = ("‖", "‖")

    def __new__(cls, array):
        return sympy.Expr.__new__(cls, array)

    @property
    def arg(self):
        return self.args[0]

    def _sympystr(self, printer):
        return f"{'norm' if self._order is None else 'norm1'}({printer._print(self.arg)})"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        form = printer._print(self.arg)
        form = prettyForm(*form.left(self._bars[0]))
        form = prettyForm(*form.right(self._bars[1] + ("" if self._order is None else "₁")))
        return form

    def _latex(self, printer, exp=None):
        sub = "" if self._order is None else "_{1}"
        body = rf"\left\|{printer._print(self.arg)}\right\|{sub}"
        return body if exp is None else f"{body}^{{{exp}}}"


class Norm1(Norm):
    """‖x‖₁: the sum of absolute values."""

    _order = 1


class DiagPart(NamedCall, sympy.MatrixExpr):
    """diag(A) of a square matrix: the column of its diagonal entries."""

    call_name = "diag"

    def __new__(cls, matrix):
        return sympy.MatrixExpr.__new__(cls, matrix)

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return (self.arg.shape[0], sympy.Integer(1))
