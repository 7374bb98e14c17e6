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

    def _mpmathcode(self, printer):
        """Entry by entry (a body with erf falls back to mpmath): min(max(x, lo), hi) on mpf numbers."""
        return printer._print(self.definition())



class _Defined(sympy.Function):
    """An activation that prints as its own name and means its `definition` everywhere else.

    Its derivative (`fdiff`) is sympy.diff of the definition, so the rule the
    table gives for it is proven against the definition, not against itself;
    its value, its NumPy code and its rewrite are the definition too.
    """

    nargs = 1
    #: how the paper's notation names it in LaTeX
    latex_name = ""

    @staticmethod
    def definition(x: sympy.Expr) -> sympy.Expr:
        raise NotImplementedError

    @classmethod
    def eval(cls, arg):  # safe: SymPy's automatic-evaluation hook, not Python's eval
        if arg.is_zero:
            return sympy.Integer(0)
        return None

    def fdiff(self, argindex: int = 1):
        t = sympy.Dummy("t", real=True)
        return sympy.diff(self.definition(t), t).xreplace({t: self.args[0]})

    def written_out(self) -> sympy.Expr:
        return self.definition(self.args[0])

    def _eval_evalf(self, prec):
        return self.written_out()._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = rf"\operatorname{{{self.latex_name}}}\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"

    def _sympystr(self, printer):
        return f"{type(self).__name__}({printer._print(self.args[0])})"

    def _numpycode(self, printer):
        return f"({printer._print(self.written_out())})"

    def _mpmathcode(self, printer):
        return f"({printer._print(self.written_out())})"


class gelu(_Defined):  # noqa: N801 - SymPy names functions in lower case
    """GELU(x) = x·Φ(x) = x(1 + erf(x/√2))/2, the exact Gaussian error linear unit (not the tanh
    approximation)."""

    latex_name = "GELU"

    @staticmethod
    def definition(x: sympy.Expr) -> sympy.Expr:
        return x * (1 + sympy.erf(x / sympy.sqrt(2))) / 2

    def _eval_rewrite_as_erf(self, arg, **kwargs):
        return self.definition(arg)


class silu(_Defined):  # noqa: N801 - SymPy names functions in lower case
    """SiLU(x) = x·σ(x) = x/(1 + e^(−x)), the sigmoid-weighted linear unit (swish)."""

    latex_name = "SiLU"

    @staticmethod
    def definition(x: sympy.Expr) -> sympy.Expr:
        return x * sigmoid(x)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return arg / (1 + sympy.exp(-arg))


#: names the rules tables may give in `sympy = "..."` besides SymPy's own functions
CUSTOM = {"sigmoid": sigmoid, "clip": clip, "gelu": gelu, "silu": silu}
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
