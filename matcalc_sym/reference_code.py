"""The reference as NumPy source: the user's text written out as NumPy calls, for exported modules.

An exported module's `check_gradient()` differentiates *this* code, not the
package's translation, for the same reason `--check` differentiates
`reference.Reference`. The code is built from the syntax tree alone, and only
three kinds of text reach it: identifiers chosen by the caller's `name_of`
(which must map every input name to a safe Python name), numbers written by
`repr` of a Python number, and the fixed templates below. Nothing the user
typed can open a string or a comment in it.

`tests/test_oracle.py` runs every template against `reference.Reference` on
the same inputs, so the two spellings of the NumPy meaning cannot drift apart.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping

from .reference import SPELLINGS, ReferenceError, bottom_up, statements

#: how NumPy computes each function of the input language ({0}, {1}, … are the arguments)
TEMPLATES: dict[str, str] = {
    "sin": "numpy.sin({0})", "cos": "numpy.cos({0})", "tan": "numpy.tan({0})",
    "cot": "(1.0 / numpy.tan({0}))", "sec": "(1.0 / numpy.cos({0}))", "csc": "(1.0 / numpy.sin({0}))",
    "asin": "numpy.arcsin({0})", "acos": "numpy.arccos({0})", "atan": "numpy.arctan({0})",
    "acot": "numpy.arctan(1.0 / {0})", "asec": "numpy.arccos(1.0 / {0})", "acsc": "numpy.arcsin(1.0 / {0})",
    "sinh": "numpy.sinh({0})", "cosh": "numpy.cosh({0})", "tanh": "numpy.tanh({0})",
    "coth": "(1.0 / numpy.tanh({0}))", "sech": "(1.0 / numpy.cosh({0}))", "csch": "(1.0 / numpy.sinh({0}))",
    "asinh": "numpy.arcsinh({0})", "acosh": "numpy.arccosh({0})", "atanh": "numpy.arctanh({0})",
    "acoth": "numpy.arctanh(1.0 / {0})", "asech": "numpy.arccosh(1.0 / {0})", "acsch": "numpy.arcsinh(1.0 / {0})",
    "exp": "numpy.exp({0})", "log": "numpy.log({0})", "log2": "numpy.log2({0})", "log10": "numpy.log10({0})",
    "sqrt": "numpy.sqrt({0})", "cbrt": "numpy.cbrt({0})", "abs": "numpy.abs({0})",
    "sigmoid": "(1.0 / (1.0 + numpy.exp(-{0})))", "relu": "numpy.maximum(0.0, {0})",
    "max": "numpy.maximum({0}, {1})", "min": "numpy.minimum({0}, {1})",
    "erf": "_each(math.erf, {0})", "erfc": "_each(math.erfc, {0})", "gamma": "_each(math.gamma, {0})",
    "loggamma": "_each(_loggamma, {0})", "atan2": "numpy.arctan2({0}, {1})", "where": "numpy.where({0}, {1}, {2})",
    "sum": "numpy.sum({0})", "mean": "numpy.mean({0})", "dot": "numpy.dot({0}, {1})",
    "trace": "numpy.trace({0})", "det": "numpy.linalg.det({0})", "logdet": "_logdet({0})",
    "inv": "numpy.linalg.inv({0})", "norm": "numpy.linalg.norm({0})", "norm1": "numpy.sum(numpy.abs({0}))",
    "diag": "numpy.diag({0})", "outer": "numpy.outer({0}, {1})",
    "eye": "numpy.eye(int({0}))", "ones": "numpy.ones(int({0}))",
}
TWO_ARGUMENT_LOG = "(numpy.log({0}) / numpy.log({1}))"

#: helpers the templates above use; an exported module defines them once
HELPERS = '''def _each(function, x):
    """A math-module function entry by entry (NaN where it is undefined)."""
    def safe(t):
        try:
            return function(float(t))
        except (ValueError, OverflowError):
            return math.nan
    return numpy.vectorize(safe, otypes=[float])(x)


def _loggamma(t):
    return math.lgamma(t) if t > 0 else math.nan


def _logdet(a):
    sign, magnitude = numpy.linalg.slogdet(a)
    return magnitude if sign > 0 else math.nan
'''

_BINARY = {ast.Add: "numpy.add", ast.Sub: "numpy.subtract", ast.Mult: "numpy.multiply",
           ast.Div: "numpy.divide", ast.Pow: "numpy.power", ast.MatMult: "numpy.matmul"}
_COMPARE = {ast.Gt: "numpy.greater", ast.GtE: "numpy.greater_equal", ast.Lt: "numpy.less",
            ast.LtE: "numpy.less_equal"}


def numpy_statements(source: str, name_of: Callable[[str], str], *, functions: Mapping[str, str] | None = None,
                     aliases: Mapping[str, str] | None = None) -> list[tuple[str | None, str]]:
    """(assigned identifier or None, NumPy expression) per statement of `source`.

    `name_of` maps every name the text reads or assigns (variables, dimension
    names, the user's intermediate names) to the identifier the code uses.
    """
    printer = _Printer(name_of, dict(functions or {}), {**SPELLINGS, **(aliases or {})})
    return [(None if target is None else name_of(target), printer.expression(expression))
            for target, expression in statements(source)]


class _Printer:
    def __init__(self, name_of, functions: dict[str, str], aliases: dict[str, str]) -> None:
        self.name_of = name_of
        self.functions = functions
        self.aliases = aliases
        self.slots: list[dict[str, str]] = []

    def expression(self, root: ast.AST) -> str:
        return bottom_up(root, self.node)

    def node(self, node: ast.AST, args: list[str]) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return f"{_BINARY[type(node.op)]}({args[0]}, {args[1]})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return f"numpy.negative({args[0]})" if isinstance(node.op, ast.USub) else args[0]
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return f"numpy.transpose({args[0]})"
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            return f"{_COMPARE[type(node.ops[0])]}({args[0]}, {args[1]})"
        if isinstance(node, ast.List):
            return f"numpy.array([{', '.join(args)}], dtype=float)"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self._call(node.func.id, args)
        raise ReferenceError(f"{type(node).__name__}: not part of the input language")

    def _name(self, name: str) -> str:
        for scope in reversed(self.slots):
            if name in scope:
                return scope[name]
        if name == "pi":
            return "numpy.pi"
        if name == "E":
            return "numpy.e"
        return self.name_of(name)

    def _call(self, name: str, args: list[str]) -> str:
        name = self.aliases.get(name, name)
        if name in self.functions:
            ((_, definition),) = statements(self.functions[name])
            self.slots.append({slot: f"({arg})" for slot, arg in zip(("u", "v", "w"), args)})
            try:
                return f"({self.expression(definition)})"
            finally:
                self.slots.pop()
        if name == "log" and len(args) == 2:
            return TWO_ARGUMENT_LOG.format(*args)
        template = TEMPLATES.get(name)
        if template is None:
            raise ReferenceError(f"no NumPy code for {name}()")
        return template.format(*args)
