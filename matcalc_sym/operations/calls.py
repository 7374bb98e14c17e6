"""The SymPy form of a declared operation that needs no class of its own: `softmax(z, axis=1)`.

`ArrayCall` (an array value) and `ScalarCall` (a scalar value) hold the
operation's name, its operands and its keyword arguments; everything else
about them (shape, value, code, derivatives) is looked up in the registry by
that name, so a new operation is a declaration, not a new class. They print
as the call the user wrote: `softmax(Z, axis=1)`, \\operatorname{softmax}(Z).
"""

from __future__ import annotations

import sympy
from sympy.core.symbol import Str
from sympy.core.sympify import _sympify as as_sympy  # strict: SymPy values and numbers, never text

_NONE = Str("None")


def _to_sympy(value) -> sympy.Basic:
    if value is None:
        return _NONE
    if isinstance(value, bool):
        return sympy.true if value else sympy.false
    return sympy.Integer(value)


def _from_sympy(value):
    if value == _NONE:
        return None
    if value in (sympy.true, sympy.false):
        return bool(value)
    return int(value)


def _params_tuple(params: dict) -> sympy.Tuple:
    return sympy.Tuple(*[sympy.Tuple(Str(k), _to_sympy(v)) for k, v in sorted(params.items())])


def _arguments(name, operands, params) -> tuple:
    """(name, operands, keyword arguments) as SymPy objects, from plain values or from SymPy's own
    rebuilding (`expr.func(*expr.args)` passes them back as they are stored)."""
    name = name if isinstance(name, Str) else Str(name)
    params = params if isinstance(params, sympy.Tuple) else _params_tuple(params)
    return name, sympy.Tuple(*operands), params


class _Call:
    """Shared by both kinds: args are (name, operands, keyword arguments, …)."""

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def operands(self) -> tuple:
        return tuple(self.args[1])

    @property
    def params(self) -> dict:
        return {pair[0].name: _from_sympy(pair[1]) for pair in self.args[2]}

    @property
    def shown_name(self) -> str:
        """The name the call prints with: the user's spelling (max(Z, axis=1) for the reduction amax)."""
        from .registry import operation

        declared = operation(self.name)
        return (declared.shown_as if declared is not None else None) or self.name

    def _shown_params(self) -> list[tuple[str, object]]:
        """Keyword arguments that differ from the declaration's defaults, as the user would write them."""
        from .registry import operation

        declared = operation(self.name)
        defaults = dict(declared.keywords) if declared is not None else {}
        return [(k, v) for k, v in sorted(self.params.items()) if defaults.get(k, object()) != v]

    def _sympystr(self, printer):
        parts = [printer._print(a) for a in self.operands] + [f"{k}={v!r}" for k, v in self._shown_params()]
        return f"{self.shown_name}({', '.join(parts)})"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        form = printer._print(self.operands[0])
        for operand in self.operands[1:]:
            form = prettyForm(*form.right(", ", printer._print(operand)))
        for key, value in self._shown_params():
            form = prettyForm(*form.right(f", {key}={value!r}"))
        form = prettyForm(*form.parens())
        return prettyForm(*form.left(self.shown_name))

    def _latex(self, printer, exp=None):
        parts = [printer._print(a) for a in self.operands]
        parts += [rf"\text{{{k}}}={v!r}" for k, v in self._shown_params()]
        name = self.shown_name.replace("_", r"\_")
        body = rf"\operatorname{{{name}}}\left({', '.join(parts)}\right)"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"


class ArrayCall(_Call, sympy.MatrixExpr):
    """A declared operation with an array value, of shape rows × cols (1-D results are n × 1)."""

    def __new__(cls, name, operands, params, rows, cols):
        # rows and cols are dimensions (SymPy symbols or whole numbers); the strict conversion refuses text
        return sympy.MatrixExpr.__new__(cls, *_arguments(name, operands, params), as_sympy(rows), as_sympy(cols))

    @property
    def shape(self):
        return (self.args[3], self.args[4])


class ScalarCall(_Call, sympy.Expr):
    """A declared operation with a scalar value (logsumexp(z), max(z))."""

    is_commutative = True
    is_real = True

    def __new__(cls, name, operands, params):
        return sympy.Expr.__new__(cls, *_arguments(name, operands, params))
