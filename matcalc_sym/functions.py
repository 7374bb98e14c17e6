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


class clip(sympy.Function):  # noqa: N801 - NumPy's name
    """np.clip(x, lo, hi) = min(max(x, lo), hi): x held inside [lo, hi], element by element.

    A function of its own so a step reads clip(x, −1, 1) and its rule (slope 1
    inside, 0 outside) fires, instead of a max and a min; its derivative for
    SymPy (what rules are proven against) comes from that definition.
    """

    nargs = 3

    @classmethod
    def eval(cls, x, lo, hi):  # safe: SymPy's automatic-evaluation hook, not Python's eval
        if x.is_number and lo.is_number and hi.is_number:
            return sympy.Min(sympy.Max(x, lo), hi)
        return None

    def definition(self) -> sympy.Expr:
        x, lo, hi = self.args
        return sympy.Min(sympy.Max(x, lo), hi)

    def fdiff(self, argindex: int = 1):
        slot = sympy.Dummy("t", real=True)
        args = list(self.args)
        at = args[argindex - 1]
        args[argindex - 1] = slot
        return sympy.diff(sympy.Min(sympy.Max(args[0], args[1]), args[2]), slot).xreplace({slot: at})

    def _eval_rewrite_as_Min(self, x, lo, hi, **kwargs):
        return sympy.Min(sympy.Max(x, lo), hi)

    def _eval_evalf(self, prec):
        return self.definition()._eval_evalf(prec)

    def _eval_is_real(self):
        from sympy.core.logic import fuzzy_and

        return fuzzy_and(a.is_real for a in self.args)

    def _latex(self, printer, exp=None):
        body = rf"\operatorname{{clip}}\left({', '.join(printer._print(a) for a in self.args)}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    def _sympystr(self, printer):
        return f"clip({', '.join(printer._print(a) for a in self.args)})"

    def _numpycode(self, printer):
        return f"{printer._module_format('numpy.clip')}({', '.join(printer._print(a) for a in self.args)})"


#: names the rules tables may give in `sympy = "..."` besides SymPy's own functions
CUSTOM = {"sigmoid": sigmoid, "clip": clip}
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
