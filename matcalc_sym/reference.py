"""The independent oracle: the user's text computed by NumPy, as NumPy reads it.

Every check used to evaluate the package's own translation of the input (the
SymPy expression), so a translation that broadcast a 1-D vector the wrong way
was checked against itself and passed. This module shares nothing with that
translation: it takes the syntax tree of the text (Python's `ast`, through the
parser's character checks, so nothing is executed) and walks it with NumPy
directly: `*` is `numpy.multiply` with NumPy's broadcasting, `@` is
`numpy.matmul`, `A**-1` is `numpy.power`, a vector declared `n` is an array
of shape (n,), `X[0, 1:3]` is NumPy's own indexing and `einsum(...)` is
`numpy.einsum`. No SymPy, no rule tables, no `symbolic`/`numeric` code.

Scalar programs are computed with 30 significant digits (mpmath, in a private
context), so the finite differences of the check lose nothing to rounding on
inputs like x + exp(20).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .errors import MatcalcError

PRECISION = 30


class ReferenceError(MatcalcError):
    """The text uses something the reference evaluator has no NumPy meaning for."""


class Undefined(Exception):
    """The value is not a finite real number here (a hole, a branch cut, an overflow)."""


# -- the arithmetic, once for floats (NumPy) and once for 30 digits (mpmath) ----------------------


def _numpy_functions(np) -> dict[str, Callable]:
    def vectorized(function):
        return lambda x: np.vectorize(lambda t: _real(function, t), otypes=[float])(x)

    def log(x, base=None):
        return np.log(x) if base is None else np.log(x) / np.log(base)

    def logdet(a):
        sign, magnitude = np.linalg.slogdet(a)
        return magnitude if sign > 0 else math.nan  # log det is real only for a positive determinant

    def softmax(x, axis=None):
        shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return shifted / np.sum(shifted, axis=axis, keepdims=True)

    def logsumexp(x, axis=None, keepdims=False):
        # scipy.special.logsumexp: the largest entry taken out first, so exp never overflows
        top = np.max(x, axis=axis, keepdims=True)
        total = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
        return total if keepdims else np.squeeze(total, axis=axis) if axis is not None else total.reshape(())[()]

    def log_softmax(x, axis=None):
        # scipy.special.log_softmax: the maximum subtracted before anything else, so x − max stays exact
        shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    def extremum(reduce, pairwise):
        """max(z) is np.max and max(a, b) np.maximum: the number of arguments decides, as in NumPy."""
        return lambda *args, **k: reduce(args[0], **k) if len(args) == 1 else pairwise(*args, **k)

    return {
        "softmax": softmax,
        "amax": np.max, "amin": np.min, "prod": np.prod, "variance": np.var, "std": np.std,
        "log_softmax": log_softmax, "logsumexp": logsumexp,
        "gelu": lambda x: x * (1 + vectorized(math.erf)(x / math.sqrt(2))) / 2,
        "silu": lambda x: x / (1 + np.exp(-x)),
        "sin": np.sin, "cos": np.cos, "tan": np.tan,
        "cot": lambda x: 1 / np.tan(x), "sec": lambda x: 1 / np.cos(x), "csc": lambda x: 1 / np.sin(x),
        "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
        "acot": lambda x: np.arctan(1 / x), "asec": lambda x: np.arccos(1 / x),
        "acsc": lambda x: np.arcsin(1 / x),
        "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
        "coth": lambda x: 1 / np.tanh(x), "sech": lambda x: 1 / np.cosh(x), "csch": lambda x: 1 / np.sinh(x),
        "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
        "acoth": lambda x: np.arctanh(1 / x), "asech": lambda x: np.arccosh(1 / x),
        "acsch": lambda x: np.arcsinh(1 / x),
        "exp": np.exp, "log": log, "log2": np.log2, "log10": np.log10,
        "sqrt": np.sqrt, "cbrt": np.cbrt, "abs": np.abs, "sign": np.sign, "clip": np.clip,
        "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "relu": lambda x: np.maximum(0, x),
        "max": extremum(np.max, np.maximum), "min": extremum(np.min, np.minimum),
        "erf": vectorized(math.erf), "erfc": vectorized(math.erfc),
        "gamma": vectorized(math.gamma), "loggamma": vectorized(_loggamma),
        "atan2": np.arctan2, "where": np.where,
        "sum": np.sum, "mean": np.mean, "dot": np.dot,
        "trace": _needs_matrix(np.trace), "det": _needs_matrix(np.linalg.det), "logdet": _needs_matrix(logdet),
        "inv": _needs_matrix(np.linalg.inv), "norm": np.linalg.norm, "norm1": lambda a: np.sum(np.abs(a)),
        "diag": np.diag, "outer": np.outer, "eye": lambda k: np.eye(_size(k)), "ones": lambda k: np.ones(_size(k)),
        "transpose": np.transpose, "matrix_power": _needs_matrix(lambda a, k: np.linalg.matrix_power(a, _whole(k))),
        "kron": np.kron,
    }


def _precise_functions(np, ctx) -> dict[str, Callable]:
    """The same functions to PRECISION digits, element by element (object arrays of mpf)."""

    def each(function):
        def apply(*args):
            if not any(isinstance(a, np.ndarray) for a in args):
                return function(*args)
            return np.vectorize(function, otypes=[object])(*args)
        return apply

    def cbrt(x):  # NumPy's cube root is real for negative x
        return ctx.sign(x) * ctx.cbrt(abs(x))

    def log(x, base=None):
        return ctx.log(x) if base is None else ctx.log(x) / ctx.log(base)

    def reduction(function):
        """A NumPy reduction of object arrays of mpf (np.max, np.prod); of one number, that number."""
        return lambda a, **k: function(a, **k) if isinstance(a, np.ndarray) else a

    names = ["sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "asec", "acsc",
             "sinh", "cosh", "tanh", "coth", "sech", "csch", "asinh", "acosh", "atanh", "acoth", "asech",
             "acsch", "exp", "sqrt", "erf", "erfc", "gamma", "loggamma", "atan2"]
    table = {name: each(getattr(ctx, name)) for name in names}
    table.update({
        "log": each(log), "log2": each(lambda x: ctx.log(x, 2)), "log10": each(ctx.log10),
        "cbrt": each(cbrt), "abs": each(abs), "sign": each(ctx.sign),
        "clip": each(lambda x, lo, hi: _precise_min(_precise_max(x, lo), hi)),
        "sigmoid": each(lambda x: 1 / (1 + ctx.exp(-x))),
        "relu": each(lambda x: _precise_max(0, x)),
        "max": lambda *a, **k: reduction(np.max)(a[0], **k) if len(a) == 1 else each(_precise_max)(*a),
        "min": lambda *a, **k: reduction(np.min)(a[0], **k) if len(a) == 1 else each(_precise_min)(*a),
        "amax": reduction(np.max), "amin": reduction(np.min), "prod": reduction(np.prod),
        "variance": lambda x, **k: _precise_var(np, x, **k),
        "std": lambda x, **k: each(ctx.sqrt)(_precise_var(np, x, **k)),
        "where": each(lambda c, a, b: a if c else b),
        "sum": lambda a, **k: np.sum(a, **k) if isinstance(a, np.ndarray) else a,
        "mean": lambda a, **k: np.mean(a, **k) if isinstance(a, np.ndarray) else a,
        "dot": lambda a, b: np.dot(a, b),
        "transpose": lambda a: np.transpose(a) if isinstance(a, np.ndarray) else a,
        "softmax": lambda x, axis=None: _precise_softmax(np, ctx, x, axis),
        "logsumexp": lambda x, axis=None, keepdims=False: _precise_logsumexp(np, ctx, x, axis, keepdims),
        "log_softmax": lambda x, axis=None: x - _precise_logsumexp(np, ctx, x, axis, True),
        "gelu": each(lambda x: x * (1 + ctx.erf(x / ctx.sqrt(2))) / 2),
        "silu": each(lambda x: x / (1 + ctx.exp(-x))),
    })
    return table


def _precise_softmax(np, ctx, x, axis):
    exps = np.vectorize(ctx.exp, otypes=[object])(x)
    return exps / np.sum(exps, axis=axis, keepdims=True)


def _precise_var(np, x, axis=None, ddof=0, keepdims=False):
    """np.var to 30 digits: Σ (x − mean)² / (N − ddof) over each group (one number varies by nothing)."""
    if not isinstance(x, np.ndarray):
        return x * 0
    count = x.size if axis is None else x.shape[axis]
    deviations = x - np.sum(x, axis=axis, keepdims=True) / count
    return np.sum(deviations * deviations, axis=axis, keepdims=keepdims) / (count - ddof)


def _precise_logsumexp(np, ctx, x, axis, keepdims):
    """log Σ exp to 30 digits (no shift needed: mpmath's exponents do not overflow)."""
    if not isinstance(x, np.ndarray):
        return x
    exps = np.vectorize(ctx.exp, otypes=[object])(x)
    total = np.vectorize(ctx.log, otypes=[object])(np.sum(exps, axis=axis, keepdims=True))
    if keepdims:
        return total
    return np.squeeze(total, axis=axis) if axis is not None else total.reshape(())[()]


def _precise_max(a, b):
    return a if a >= b else b


def _precise_min(a, b):
    return a if a <= b else b


def _real(function, t):
    try:
        return function(float(t))
    except (ValueError, OverflowError):
        return math.nan


def _loggamma(t):
    return math.lgamma(t) if t > 0 else math.nan  # complex for negative arguments, as in SymPy


def _needs_matrix(function):
    def apply(a, *more):
        import numpy as np

        if np.ndim(a) != 2:
            raise ReferenceError("a matrix function of something that is not a matrix")
        return function(a, *more)
    return apply


def _whole(k) -> int:
    """A power written as a number (the text's 3 reaches NumPy as 3.0)."""
    value = float(k)
    if value != int(value):
        raise ReferenceError(f"matrix_power takes a whole number, not {k}")
    return int(value)


def _size(k) -> int:
    value = float(k)
    if value != int(value) or value < 1:
        raise ReferenceError(f"eye/ones take a whole number, not {k}")
    return int(value)


# -- the program --------------------------------------------------------------------------------------

#: NumPy's and the paper's other spellings of the functions above
SPELLINGS = {
    "ln": "log", "absolute": "abs", "maximum": "max", "minimum": "min", "lgamma": "loggamma",
    "arctan2": "atan2", "tr": "trace", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "arccot": "acot", "arcsec": "asec", "arccsc": "acsc", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh", "arccoth": "acoth", "arcsech": "asech", "arccsch": "acsch",
    "var": "variance",  # np.var; the package's operation is called variance ("var" names its variables)
}

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
           ast.MatMult: "matmul"}
_COMPARE = {ast.Gt: "greater", ast.GtE: "greater_equal", ast.Lt: "less", ast.LtE: "less_equal"}


@dataclass(frozen=True)
class Reference:
    """The user's program, ready to be computed at any point.

    `shapes` are the declared NumPy shapes (dimension names or whole numbers,
    `("n",)` for a 1-D vector, `("n", "1")` for a column); `functions` are the
    definitions of a rules file's functions (name → (slots, definition text)).
    """

    source: str
    shapes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    functions: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=lambda: dict(SPELLINGS))

    @cached_property
    def program(self) -> list[tuple[str | None, ast.expr]]:
        """The statements, read once (a check evaluates the text hundreds of times)."""
        return statements(self.source)

    @cached_property
    def orders(self) -> dict[int, list[tuple[ast.AST, list[ast.AST]]]]:
        """Each statement's nodes in the order `bottom_up` visits them, by the statement's id.

        Walked once: a check evaluates the text hundreds of times, and finding
        the children again on every evaluation was most of an evaluation. (The
        ids stay valid: `program` keeps the statements alive.)
        """
        return {id(expression): postorder(expression) for _, expression in self.program}

    @property
    def dimensions(self) -> set[str]:
        """Dimension names of the declared shapes (a name such as n then reads as its size)."""
        return {d for shape in self.shapes.values() for d in shape if not d.isdigit()}

    def variables(self) -> dict[str, tuple[str, ...]]:
        """The free names the text reads, each with its declared NumPy shape (() for a scalar)."""
        assigned: set[str] = set()
        found: dict[str, tuple[str, ...]] = {}
        for target, expression in self.program:
            callees = {id(n.func) for n in ast.walk(expression) if isinstance(n, ast.Call)}
            for node in ast.walk(expression):
                if not isinstance(node, ast.Name) or id(node) in callees:
                    continue
                name = node.id
                if name not in assigned and name not in ("pi", "E") and not self._is_dimension(name):
                    found.setdefault(name, tuple(self.shapes.get(name, ())))
            if target is not None:
                assigned.add(target)
        return found

    def _is_dimension(self, name: str) -> bool:
        return name in self.dimensions and name not in self.shapes

    def sizes(self, values: Mapping[str, Any]) -> dict[str, int]:
        """Each dimension name's size, read off the arrays given."""
        import numpy as np

        sizes: dict[str, int] = {}
        for name, shape in self.shapes.items():
            if name not in values:
                continue
            actual = np.shape(values[name])
            if len(actual) != len(shape):
                raise ReferenceError(f"{name} should have {len(shape)} dimension(s), got shape {actual}")
            for dim, size in zip(shape, actual):
                if dim.isdigit():
                    if int(dim) != size:
                        raise ReferenceError(f"{name} should have {dim} along an axis, got {size}")
                elif sizes.setdefault(dim, size) != size:
                    raise ReferenceError(f"{name}: {dim} is {size} here but {sizes[dim]} elsewhere")
        return sizes

    def __call__(self, values: Mapping[str, Any], *, precise: bool = False) -> Any:
        """The output at `values` (NumPy arrays as NumPy would compute them).

        Raises `Undefined` where the output is not finite and real, and
        `ReferenceError` for text it cannot give a NumPy meaning to.
        """
        import numpy as np

        with np.errstate(all="ignore"):
            return _Evaluator(self, values, precise).run()


def reference_of(derivation) -> Reference:
    """The reference for a derivation's own input: its text, declared shapes and rules-file functions."""
    return Reference(derivation.source, dict(derivation.declared_shapes), dict(derivation.user_functions),
                     {**SPELLINGS, **derivation.user_aliases})


def statements(source: str) -> list[tuple[str | None, ast.expr]]:
    """(assigned name or None, expression) per statement, through the parser's character checks."""
    from .parse import _parse_ast, _prepare

    translated, origin = _prepare(source)
    module = _parse_ast(translated, origin, source)
    statements = []
    for statement in module.body:
        if isinstance(statement, ast.Expr):
            statements.append((None, statement.value))
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            statements.append((statement.targets[0].id, statement.value))
        else:
            raise ReferenceError(f"{type(statement).__name__}: not part of the input language")
    return statements


_ARITHMETIC: dict[bool, tuple[Any, dict[str, Callable]]] = {}


def _arithmetic(precise: bool) -> tuple[Any, dict[str, Callable]]:
    """A private 30-digit mpmath context and the function table, made once per process.

    Making them took about 1 ms, per evaluation, and a check evaluates the
    text hundreds of times; neither changes after it is made.
    """
    if precise not in _ARITHMETIC:
        import mpmath
        import numpy as np

        ctx = mpmath.MPContext()
        ctx.dps = PRECISION
        _ARITHMETIC[precise] = ctx, _precise_functions(np, ctx) if precise else _numpy_functions(np)
    return _ARITHMETIC[precise]


class _Evaluator:
    """One evaluation: the names bound so far, and the arithmetic in use."""

    def __init__(self, reference: Reference, values: Mapping[str, Any], precise: bool) -> None:
        import numpy as np

        self.np = np
        self.reference = reference
        self.precise = precise
        self.ctx, self.functions = _arithmetic(precise)
        self.sizes = reference.sizes(values)
        self.env: dict[str, Any] = {name: self._input(value) for name, value in values.items()}
        self.slots: list[dict[str, Any]] = []

    def _input(self, value):
        np = self.np
        if self.precise:
            if np.ndim(value):
                return np.vectorize(self.ctx.mpf, otypes=[object])(np.asarray(value, dtype=float))
            return self.ctx.mpf(float(value))
        array = np.asarray(value, dtype=float)
        return array if array.ndim else float(array)

    def run(self):
        output = None
        for target, expression in self.reference.program:
            output = self.expression(expression)
            if target is not None:
                self.env[target] = output
        return self._finished(output)

    def _finished(self, output):
        np = self.np
        if self.precise:
            entries = np.ravel(np.asarray(output, dtype=object)).tolist()
            if not all(isinstance(e, type(self.ctx.mpf(0))) and self.ctx.isfinite(e) for e in entries):
                raise Undefined
            return output
        array = np.asarray(output)
        if array.dtype == bool or not np.all(np.isfinite(array)) or np.iscomplexobj(array):
            raise Undefined
        return output

    def expression(self, root: ast.AST):
        order = self.reference.orders.get(id(root))
        return bottom_up(root, self.node) if order is None else visit_in_order(order, self.node)

    def node(self, node: ast.AST, args: list):
        np = self.np
        try:
            if isinstance(node, ast.Constant):
                return self._number(node)
            if isinstance(node, ast.Name):
                return self._name(node.id)
            if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
                return self._binary(_BINARY[type(node.op)], *args)
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                return -args[0] if isinstance(node.op, ast.USub) else args[0]
            if isinstance(node, ast.Attribute) and node.attr == "T":
                return np.transpose(args[0]) if np.ndim(args[0]) else args[0]
            if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
                return self._compare(_COMPARE[type(node.ops[0])], *args)
            if isinstance(node, ast.List):
                return np.array(args, dtype=object if self.precise else float)
            if isinstance(node, ast.Subscript):
                return self._subscript(args[0], index_of(node))
            if is_einsum(node):
                return np.einsum(einsum_subscripts(node), *args)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                return self._call(node.func.id, args, keyword_arguments(node))
        except (ZeroDivisionError, OverflowError, ValueError, TypeError) as exc:
            if isinstance(exc, ValueError) and any(w in str(exc) for w in ("shape", "broadcast", "dimension")):
                raise ReferenceError(f"NumPy refuses the shapes: {exc}") from None
            raise Undefined from None
        raise ReferenceError(f"{type(node).__name__}: not part of the input language")

    def _subscript(self, array, index: tuple):
        """NumPy's indexing of an array (never of a scalar); an index out of range is not a value."""
        if not self.np.ndim(array):
            raise ReferenceError("indexing a scalar")
        try:
            return array[index]
        except IndexError as exc:
            raise ReferenceError(f"NumPy refuses the index: {exc}") from None

    def _number(self, node: ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ReferenceError(f"{value!r}: not a number")
        if self.precise:
            return self.ctx.mpf(value) if isinstance(value, int) else self.ctx.mpf(repr(value))
        return float(value)

    def _name(self, name: str):
        for scope in reversed(self.slots):
            if name in scope:
                return scope[name]
        if name in self.env:
            return self.env[name]
        if name == "pi":
            return self.ctx.pi if self.precise else math.pi
        if name == "E":
            return self.ctx.e if self.precise else math.e
        if self.reference._is_dimension(name):
            if name not in self.sizes:
                raise ReferenceError(f"the size of dimension {name} is not known")
            return self.sizes[name]
        raise ReferenceError(f"no value for {name}")

    def _binary(self, op: str, a, b):
        np = self.np
        if op == "matmul":
            if not np.ndim(a) or not np.ndim(b):
                raise ReferenceError("'@' of a scalar")
            return np.matmul(a, b)
        if op == "pow" and self.precise:
            return self._precise_power(a, b)
        function = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
                    "pow": np.power}[op]
        return function(a, b)

    def _precise_power(self, a, b):
        np = self.np
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.vectorize(self._precise_power, otypes=[object])(a, b)
        if a == 0 and b < 0:
            raise Undefined
        return self.ctx.power(a, b)

    def _compare(self, op: str, a, b):
        np = self.np
        if self.precise:
            test = {"greater": lambda x, y: x > y, "greater_equal": lambda x, y: x >= y,
                    "less": lambda x, y: x < y, "less_equal": lambda x, y: x <= y}[op]
            return np.vectorize(test, otypes=[bool])(a, b) if np.ndim(a) or np.ndim(b) else test(a, b)
        return getattr(np, op)(a, b)

    def _call(self, name: str, args: list, keywords: dict):
        name = self.reference.aliases.get(name, name)
        if name in self.reference.functions and not keywords:
            return self._defined(self.reference.functions[name], args)
        function = self.functions.get(name)
        if function is None:
            raise ReferenceError(f"no reference value for {name}()"
                                 + (" with 30 digits" if self.precise and name in _numpy_functions(self.np) else ""))
        return function(*args, **keywords)

    def _defined(self, definition: str, args: list):
        """A rules file's function: its definition, with the slots u, v, w bound to the arguments."""
        ((_, expression),) = statements(definition)
        self.slots.append(dict(zip(("u", "v", "w"), args)))
        try:
            return self.expression(expression)
        finally:
            self.slots.pop()


def keyword_arguments(call: ast.Call) -> dict:
    """A call's keyword arguments, read as literals (a whole number, True, False, None), never run."""
    found = {}
    for keyword in call.keywords:
        node, sign = keyword.value, 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            node, sign = node.operand, -1
        if keyword.arg is None or not isinstance(node, ast.Constant) \
                or not (node.value is None or type(node.value) in (int, bool)) or (sign < 0 and type(node.value) is not int):
            raise ReferenceError("keyword arguments are literal whole numbers, True, False or None")
        found[keyword.arg] = sign * node.value if sign < 0 else node.value
    return found


def is_einsum(node: ast.AST) -> bool:
    """A call of einsum whose first argument is a string: the subscripts, read as a literal."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "einsum" \
        and bool(node.args) and isinstance(node.args[0], ast.Constant) and type(node.args[0].value) is str


def einsum_subscripts(call: ast.Call) -> str:
    """einsum's subscripts string, held to the pattern: only letters, ',' and '->' can come out of here."""
    text = call.args[0].value
    inputs, arrow, output = text.partition("->")
    operands = inputs.split(",")
    if not (arrow and len(text) <= 16 and len(operands) <= 3 and len(output) <= 2 and _letters(output)
            and all(1 <= len(o) <= 2 and _letters(o) for o in operands)):
        raise ReferenceError("einsum subscripts are lowercase letters, ',' and one '->'")
    return text


def _letters(text: str) -> bool:
    return all("a" <= char <= "z" for char in text)  # str.isalpha() would take é, and more


def index_of(node: ast.Subscript) -> tuple:
    """The index of X[…] as Python values: whole numbers and slices of whole numbers, read as literals."""
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    index = []
    for part in parts:
        if isinstance(part, ast.Slice):
            index.append(slice(*(None if b is None else _whole_number(b) for b in (part.lower, part.upper, part.step))))
        else:
            index.append(_whole_number(part))
    return tuple(index)


def _whole_number(node: ast.AST) -> int:
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node, sign = node.operand, -1
    if not isinstance(node, ast.Constant) or type(node.value) is not int:
        raise ReferenceError("an index is a whole number or a slice of whole numbers")
    return sign * node.value


def bottom_up(root: ast.AST, visit: Callable[[ast.AST, list], Any]) -> Any:
    """`visit(node, values of its children)` from the leaves up, with an explicit stack:
    a 20 000-term sum is no deeper for Python than x."""
    done: dict[int, Any] = {}
    stack: list[tuple[ast.AST, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        children = _children(node)
        if ready:
            done[id(node)] = visit(node, [done[id(c)] for c in children])
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))
    return done[id(root)]


def postorder(root: ast.AST) -> list[tuple[ast.AST, list[ast.AST]]]:
    """(node, its children) in the order `bottom_up` visits them: children left to right, then the node."""
    order: list[tuple[ast.AST, list[ast.AST]]] = []
    bottom_up(root, lambda node, _: order.append((node, _children(node))))
    return order


def visit_in_order(order: list[tuple[ast.AST, list[ast.AST]]], visit: Callable[[ast.AST, list], Any]) -> Any:
    """`bottom_up` over an order made once by `postorder`."""
    done: dict[int, Any] = {}
    for node, children in order:
        done[id(node)] = visit(node, [done[id(c)] for c in children])
    return done[id(order[-1][0])]


def _children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args[1:]) if is_einsum(node) else list(node.args)
    if isinstance(node, ast.List):
        return list(node.elts)
    if isinstance(node, ast.Attribute):
        return [node.value]
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators]
    if isinstance(node, ast.Subscript):
        return [node.value]
    return []
