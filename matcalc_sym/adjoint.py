"""Adjoint symbols ∂J/∂u: the upstream gradients of reverse mode.

They are real SymPy symbols (a matrix symbol shaped like u, or a scalar
symbol) so adjoint equations are ordinary expressions; only their printing
is special: a stacked fraction like the paper's. The stored name is ASCII
("dJ/du1"), which is also the key `evaluate` takes for an upstream gradient.
"""

from __future__ import annotations

import sympy


def _parts(name: str) -> tuple[str, str]:
    loss, _, of = name[1:].partition("/d")
    return loss, of


def _pretty(printer, name: str):
    from sympy.printing.pretty.stringpict import prettyForm

    loss, of = _parts(name)
    top = str(printer._print(sympy.Symbol(loss)))
    bottom = str(printer._print(sympy.Symbol(of)))
    return prettyForm("∂" + top) / prettyForm("∂" + bottom)


def _latex(printer, name: str) -> str:
    loss, of = _parts(name)
    return rf"\frac{{\partial {printer._print(sympy.Symbol(loss))}}}{{\partial {printer._print(sympy.Symbol(of))}}}"


class _AdjointPrinting:
    """Printing shared by both adjoint symbols: a stacked ∂J/∂u."""

    name: str

    def _pretty(self, printer):
        return _pretty(printer, self.name)

    def _latex(self, printer, exp=None):
        body = _latex(printer, self.name)
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"

    def _sympystr(self, printer):
        return f"({self.name})"


class AdjointMatrix(_AdjointPrinting, sympy.MatrixSymbol):
    """∂J/∂U for an array U: shaped like U."""


class AdjointScalar(_AdjointPrinting, sympy.Symbol):
    """∂J/∂u for a scalar u."""


def adjoint(loss: str, of: str, like: sympy.Basic) -> sympy.Basic:
    """The symbol ∂loss/∂of, shaped like `like`."""
    name = f"d{loss}/d{of}"
    if isinstance(like, sympy.MatrixExpr):
        return AdjointMatrix(name, *like.shape)
    return AdjointScalar(name, real=True)
