"""SymPy functions that SymPy itself lacks but deep learning writes every day.

They are real `sympy.Function` subclasses (not expansions) so a derivation can
say σ(z) instead of 1/(1 + e^(−z)) and still be evaluated and differentiated.
"""

from __future__ import annotations

import sympy


class sigmoid(sympy.Function):  # noqa: N801 - SymPy names functions in lower case
    """The logistic function σ(z) = 1 / (1 + e^(−z))."""

    nargs = 1

    @classmethod
    def eval(cls, arg):  # safe: SymPy's automatic-evaluation hook, not Python's eval
        if arg.is_zero:
            return sympy.Rational(1, 2)
        return None

    def fdiff(self, argindex: int = 1):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sympy.exp(-arg))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    def _sympystr(self, printer):
        return f"sigmoid({printer._print(self.args[0])})"

    def _numpycode(self, printer):
        arg = printer._print(self.args[0])
        return f"(1/(1 + {printer._module_format('numpy.exp')}(-({arg}))))"


#: names the rules tables may give in `sympy = "..."` besides SymPy's own functions
CUSTOM = {"sigmoid": sigmoid}
#: SymPy callables that are helpers returning other classes, not Function subclasses
HELPERS = {"sqrt": sympy.sqrt, "cbrt": sympy.cbrt}


def resolve(name: str):
    """The SymPy callable a rules table names, refusing anything that is not a function.

    Rule files may come from users (``--rules``), so this never returns an
    arbitrary attribute of SymPy: only Function subclasses and a few helpers.
    """
    if name in CUSTOM:
        return CUSTOM[name]
    if name in HELPERS:
        return HELPERS[name]
    candidate = getattr(sympy, name, None) if name.isidentifier() and not name.startswith("_") else None
    if isinstance(candidate, type) and issubclass(candidate, (sympy.Function, sympy.Expr)) and (
        issubclass(candidate, sympy.Function) or name in {"Max", "Min", "Abs"}
    ):
        return candidate
    raise ValueError(f"{name!r} is not a SymPy function")
