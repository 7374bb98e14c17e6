"""The reference as NumPy source: the user's text written out as NumPy calls, for exported modules.

An exported module's `check_gradient()` differentiates *this* code, not the
package's translation, for the same reason `--check` differentiates
`reference.Reference`. The code is built from the syntax tree alone, and only
four kinds of text reach it: identifiers chosen by the caller's `name_of`
(which must map every input name to a safe Python name), numbers written by
`repr` of a Python number, einsum's subscripts spelled afresh from their
structure (validated, then each letter renamed a, b, c, … in order of first
appearance), and the fixed templates below. Nothing the user
typed can open a string or a comment in it. The code refers to NumPy as `_np`,
to `math` as `_math` and to the helpers in `HELPERS`, names starting with `_`
that no name of the input language can shadow.

`tests/test_oracle.py` runs every template against `reference.Reference` on
the same inputs, so the two spellings of the NumPy meaning cannot drift apart.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping

from .reference import (
    SPELLINGS,
    ReferenceError,
    bottom_up,
    einsum_subscripts,
    index_of,
    is_einsum,
    keyword_arguments,
    statements,
)

#: how NumPy computes each function of the input language ({0}, {1}, … are the arguments)
TEMPLATES: dict[str, str] = {
    "sin": "_np.sin({0})", "cos": "_np.cos({0})", "tan": "_np.tan({0})",
    "cot": "(1.0 / _np.tan({0}))", "sec": "(1.0 / _np.cos({0}))", "csc": "(1.0 / _np.sin({0}))",
    "asin": "_np.arcsin({0})", "acos": "_np.arccos({0})", "atan": "_np.arctan({0})",
    "acot": "_np.arctan(1.0 / {0})", "asec": "_np.arccos(1.0 / {0})", "acsc": "_np.arcsin(1.0 / {0})",
    "sinh": "_np.sinh({0})", "cosh": "_np.cosh({0})", "tanh": "_np.tanh({0})",
    "coth": "(1.0 / _np.tanh({0}))", "sech": "(1.0 / _np.cosh({0}))", "csch": "(1.0 / _np.sinh({0}))",
    "asinh": "_np.arcsinh({0})", "acosh": "_np.arccosh({0})", "atanh": "_np.arctanh({0})",
    "acoth": "_np.arctanh(1.0 / {0})", "asech": "_np.arccosh(1.0 / {0})", "acsch": "_np.arcsinh(1.0 / {0})",
    "exp": "_np.exp({0})", "log": "_np.log({0})", "log2": "_np.log2({0})", "log10": "_np.log10({0})",
    "sqrt": "_np.sqrt({0})", "cbrt": "_np.cbrt({0})", "abs": "_np.abs({0})", "sign": "_np.sign({0})", "clip": "_np.clip({0}, {1}, {2})",
    "sigmoid": "(1.0 / (1.0 + _np.exp(-{0})))", "relu": "_np.maximum(0.0, {0})",
    "max": "_np.maximum({0}, {1})", "min": "_np.minimum({0}, {1})",
    "erf": "_each(_math.erf, {0})", "erfc": "_each(_math.erfc, {0})", "gamma": "_each(_math.gamma, {0})",
    "loggamma": "_each(_loggamma, {0})", "atan2": "_np.arctan2({0}, {1})", "where": "_np.where({0}, {1}, {2})",
    "softmax": "_softmax({0}{kw})", "log_softmax": "_log_softmax({0}{kw})", "logsumexp": "_logsumexp({0}{kw})",
    "gelu": "_gelu({0})", "silu": "_silu({0})",
    "max/1": "_np.max({0}{kw})", "min/1": "_np.min({0}{kw})", "amax": "_np.max({0}{kw})", "amin": "_np.min({0}{kw})",
    "prod": "_np.prod({0}{kw})", "variance": "_np.var({0}{kw})", "std": "_np.std({0}{kw})",
    "sum": "_np.sum({0}{kw})", "mean": "_np.mean({0}{kw})", "dot": "_np.dot({0}, {1})",
    "trace": "_np.trace({0})", "det": "_np.linalg.det({0})", "logdet": "_logdet({0})",
    "inv": "_np.linalg.inv({0})", "norm": "_np.linalg.norm({0})", "norm1": "_np.sum(_np.abs({0}))",
    "diag": "_np.diag({0})", "outer": "_np.outer({0}, {1})",
    "eye": "_np.eye(int({0}))", "ones": "_np.ones(int({0}))",
    # the subscripts pass reference.einsum_subscripts first: lowercase letters, ',' and '->' only
    "einsum": "_np.einsum({subscripts}, {operands})",
    "transpose": "_np.transpose({0})", "matrix_power": "_np.linalg.matrix_power({0}, int({1}))", "kron": "_np.kron({0}, {1})",
}
TWO_ARGUMENT_LOG = "(_np.log({0}) / _np.log({1}))"

#: helpers the templates above use; an exported module defines them once
HELPERS = '''def _each(function, x):
    """A math-module function entry by entry (NaN where it is undefined)."""
    def safe(t):
        try:
            return function(float(t))
        except (ValueError, OverflowError):
            return _math.nan
    return _np.vectorize(safe, otypes=[float])(x)


def _loggamma(t):
    return _math.lgamma(t) if t > 0 else _math.nan


def _softmax(x, axis=None):
    shifted = _np.exp(x - _np.max(x, axis=axis, keepdims=True))
    return shifted / _np.sum(shifted, axis=axis, keepdims=True)


def _unit(size, index, row):
    """The unit vector e_index of `size` entries, a column (a row when `row`), for indexing's derivatives."""
    column = _np.zeros((int(size), 1))
    column[index, 0] = 1.0
    return column.T if row else column


def _selection(size, start, stop, step, transposed):
    """The rows start:stop:step of the identity of `size` (transposed when asked), without building it."""
    rows = _np.arange(start, stop, step)
    matrix = _np.zeros((len(rows), int(size)))
    matrix[_np.arange(len(rows)), rows] = 1.0
    return matrix.T if transposed else matrix


def _matrix_power_vjp(x, g, k):
    """The vector-Jacobian product of matrix_power(x, k): sum over i of (x.T)^i g (x.T)^(k-1-i)."""
    powers = [_np.linalg.matrix_power(x.T, i) for i in range(k)]
    return sum(powers[i] @ g @ powers[k - 1 - i] for i in range(k))


def _kron_vjp_left(g, b):
    """The adjoint of A in kron(A, B): entry (i, j) is block (i, j) of g summed against b."""
    r, s = b.shape
    return _np.einsum("ikjl,kl->ij", g.reshape(g.shape[0] // r, r, g.shape[1] // s, s), b)


def _kron_vjp_right(g, a):
    """The adjoint of B in kron(A, B): the blocks of g weighted by the entries of a."""
    p, q = a.shape
    return _np.einsum("ikjl,ij->kl", g.reshape(p, g.shape[0] // p, q, g.shape[1] // q), a)


def _gelu(x):
    """x * Phi(x), the exact GELU (erf, not the tanh approximation)."""
    return x * (1.0 + _each(_math.erf, x / _math.sqrt(2.0))) / 2.0


def _silu(x):
    return x / (1.0 + _np.exp(-x))


def _logsumexp(x, axis=None, keepdims=False):
    top = _np.max(x, axis=axis, keepdims=True)
    total = _np.log(_np.sum(_np.exp(x - top), axis=axis, keepdims=True)) + top
    if keepdims:
        return total
    return _np.squeeze(total, axis=axis) if axis is not None else total.reshape(())[()]


def _log_softmax(x, axis=None):
    shifted = x - _np.max(x, axis=axis, keepdims=True)
    return shifted - _np.log(_np.sum(_np.exp(shifted), axis=axis, keepdims=True))


def _logdet(a):
    sign, magnitude = _np.linalg.slogdet(a)
    return magnitude if sign > 0 else _math.nan
'''

_BINARY = {ast.Add: "_np.add", ast.Sub: "_np.subtract", ast.Mult: "_np.multiply",
           ast.Div: "_np.divide", ast.Pow: "_np.power", ast.MatMult: "_np.matmul"}
_COMPARE = {ast.Gt: "_np.greater", ast.GtE: "_np.greater_equal", ast.Lt: "_np.less",
            ast.LtE: "_np.less_equal"}


#: a call nested deeper than this is assigned to a temporary (Python's parser stops at 200 parentheses)
HOIST_HEIGHT = 12


def numpy_statements(source: str, name_of: Callable[[str], str], *, functions: Mapping[str, str] | None = None,
                     aliases: Mapping[str, str] | None = None) -> list[tuple[str | None, str]]:
    """(assigned identifier or None, NumPy expression) per statement of `source`.

    `name_of` maps every name the text reads or assigns (variables, dimension
    names, the user's intermediate names) to the identifier the code uses.
    Deeply nested calls come out as their own statements, assigned to
    temporaries `_r1`, `_r2`, … (so a 20 000-term sum still compiles).
    """
    printer = _Printer(name_of, dict(functions or {}), {**SPELLINGS, **(aliases or {})})
    lines: list[tuple[str | None, str]] = []
    for target, expression in statements(source):
        code = printer.expression(expression)
        lines += printer.take_temporaries()
        lines.append((None if target is None else name_of(target), code))
    return lines


class _Printer:
    def __init__(self, name_of, functions: dict[str, str], aliases: dict[str, str]) -> None:
        self.name_of = name_of
        self.functions = functions
        self.aliases = aliases
        self.slots: list[dict[str, tuple[str, int]]] = []
        self.temporaries: list[tuple[str, str]] = []
        self.count = 0

    def expression(self, root: ast.AST) -> str:
        code, _ = bottom_up(root, self.visit)
        return code

    def take_temporaries(self) -> list[tuple[str, str]]:
        taken, self.temporaries = self.temporaries, []
        return taken

    def visit(self, node: ast.AST, args: list[tuple[str, int]]) -> tuple[str, int]:
        """The code of `node` and how deeply it nests; too deep, and it becomes a temporary."""
        height = 1 + max((h for _, h in args), default=0)
        code = self.node(node, [c for c, _ in args])
        if height <= HOIST_HEIGHT:
            return code, height
        self.count += 1
        name = f"_r{self.count}"
        self.temporaries.append((name, code))
        return name, 1

    def node(self, node: ast.AST, args: list[str]) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return repr(float(node.value))
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return f"{_BINARY[type(node.op)]}({args[0]}, {args[1]})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return f"_np.negative({args[0]})" if isinstance(node.op, ast.USub) else args[0]
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return f"_np.transpose({args[0]})"
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            return f"{_COMPARE[type(node.ops[0])]}({args[0]}, {args[1]})"
        if isinstance(node, ast.List):
            return f"_np.array([{', '.join(args)}], dtype=float)"
        if isinstance(node, ast.Subscript):
            return f"({args[0]})[{_index_code(index_of(node))}]"
        if is_einsum(node):
            return TEMPLATES["einsum"].format(subscripts=_respelled(einsum_subscripts(node)), operands=", ".join(args))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._call(node.func.id, args, keyword_arguments(node))
        raise ReferenceError(f"{type(node).__name__}: not part of the input language")

    def _name(self, name: str) -> str:
        for scope in reversed(self.slots):
            if name in scope:
                return f"({scope[name][0]})"
        if name == "pi":
            return "_np.pi"
        if name == "E":
            return "_np.e"
        return self.name_of(name)

    def _call(self, name: str, args: list[str], keywords: dict) -> str:
        name = self.aliases.get(name, name)
        if f"{name}/{len(args)}" in TEMPLATES:  # max(z) is np.max, max(a, b) np.maximum: arity decides
            name = f"{name}/{len(args)}"
        if keywords:
            template = TEMPLATES.get(name, "")
            if "{kw}" not in template:
                raise ReferenceError(f"no NumPy code for {name}() with keyword arguments")
            return template.format(*args, kw="".join(f", {k}={v!r}" for k, v in sorted(keywords.items())))
        if name in self.functions:
            ((_, definition),) = statements(self.functions[name])
            arguments = []
            for arg in args:  # each argument once, as a temporary, however often the definition reads it
                self.count += 1
                self.temporaries.append((f"_r{self.count}", arg))
                arguments.append((f"_r{self.count}", 1))
            self.slots.append(dict(zip(("u", "v", "w"), arguments)))
            try:
                return f"({self.expression(definition)})"
            finally:
                self.slots.pop()
        if name == "log" and len(args) == 2:
            return TWO_ARGUMENT_LOG.format(*args)
        template = TEMPLATES.get(name)
        if template is None:
            raise ReferenceError(f"no NumPy code for {name}()")
        return template.format(*args, kw="")


def _index_code(index: tuple) -> str:
    """An index as NumPy source, from whole numbers only (`repr` of an int): 0, :, 1:3, ::-1."""
    def bound(value) -> str:
        return "" if value is None else repr(int(value))

    parts = [f"{bound(i.start)}:{bound(i.stop)}" + (f":{bound(i.step)}" if i.step is not None else "")
             if isinstance(i, slice) else repr(int(i)) for i in index]
    return ", ".join(parts) + ("," if len(parts) == 1 else "")


def _respelled(subscripts: str) -> str:
    """The subscripts as a string literal written by this module: the same contraction, letters a, b, c, …
    in order of first appearance (no character of the input reaches the code)."""
    letters: dict[str, str] = {}
    spelled = "".join(letters.setdefault(c, "abcdefghijkl"[len(letters)]) if c.isalpha() else c for c in subscripts)
    if not all(c in "abcdefghijkl,->" for c in spelled):
        raise ReferenceError("einsum subscripts are lowercase letters, ',' and one '->'")
    return f"'{spelled}'"
