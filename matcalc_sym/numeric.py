"""Numbers from a derivation: results (scalars, vectors, matrices) evaluated with NumPy.

Array results are SymPy matrix expressions with the package's own classes
(`Elementwise`, `Diag`, `ReduceSum`, `Ones`), so they are evaluated by a
small recursive interpreter, one function per class, rather than lambdify.
Dimension symbols (n, N) are read off the arrays given.

The cost is linear in the number of distinct subexpressions. A derivation's
expressions share most of their structure (hᵢ's definition holds hᵢ₋₁'s,
every gradient reads the same intermediates), and walking them as trees, or
evaluating a nested element-wise array once for every array around it, made
`evaluate()` and `--check` exponential in a network's depth. So:

* one evaluation memoizes every node it computes (`_Interpreter.memo`), and
  `evaluate()` shares one interpreter between a derivation's definitions and
  its results;
* a scalar body is taken apart once per distinct expression (`_plan`) and
  compiled once per distinct body (`_compiled`): the array atoms are
  replaced by numbered placeholders, so tanh(Elem(u1)) and tanh(Elem(u7))
  share one lambdified function. Both caches are bounded (LRU).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sympy

from .arrays import Diag, Elem, Elementwise, ReduceSum, is_array
from .errors import DeriveError
from .matfuncs import DiagPart, LogDet, Norm, Norm1

#: scalar functions of an array: how NumPy computes each
MATRIX_SCALARS = {
    sympy.Trace: lambda np, a: np.trace(a),
    sympy.Determinant: lambda np, a: np.linalg.det(a),
    LogDet: lambda np, a: np.linalg.slogdet(a)[1],
    Norm: lambda np, a: np.linalg.norm(a),
    Norm1: lambda np, a: np.sum(np.abs(a)),
}
#: atoms of a scalar body whose value is computed from an array (the interpreter's, not lambdify's)
ARRAY_ATOMS = (Elem, ReduceSum, *MATRIX_SCALARS)
#: distinct expressions (and distinct compiled bodies) kept between evaluations
CACHE_SIZE = 4096
_UNSET = object()


def evaluate(derivation, values: Mapping[str, Any]) -> Any:
    """`derivation.result` at `values`: a float when scalar, else a 2-D ndarray.

    Named intermediates missing from `values` are computed first, by the same
    interpreter as the result, so what they share is computed once.
    """
    import numpy as np

    interpreter = _Interpreter(*_environment(values, derivation.symbols))
    with np.errstate(all="ignore"):
        for name, definition in derivation.definitions.items():
            if name not in values:
                interpreter.bind(name, derivation.symbols[name], _value_of(interpreter, [definition])[0])
        if derivation.gradients and len(derivation.gradients) > 1:
            computed = _value_of(interpreter, list(derivation.gradients.values()))
            return {name: _shaped(v, g) for (name, g), v in zip(derivation.gradients.items(), computed)}
        return _shaped(_value_of(interpreter, [derivation.result])[0], derivation.result)


def _shaped(value, expr):
    import numpy as np

    if is_array_valued(expr):
        return np.atleast_2d(np.asarray(value, dtype=float))
    return float(np.real_if_close(value))


def evaluate_expression(expr: sympy.Basic, values: Mapping[str, Any], symbols: Mapping[str, sympy.Basic]) -> Any:
    """Any expression the engine builds, at `values` (1-D inputs are columns)."""
    import numpy as np

    interpreter = _Interpreter(*_environment(values, symbols))
    with np.errstate(all="ignore"):
        return _value_of(interpreter, [expr])[0]


def _value_of(interpreter: _Interpreter, exprs: list) -> list:
    """The expressions' values; where computing fails, a missing input is named as the reason.

    Checking the inputs first, on every call, was a tenth of a small
    evaluation, and the check evaluates thousands; an input without a value
    fails the computation anyway, so the inputs are checked then.
    """
    try:
        return [interpreter.value(expr) for expr in exprs]
    except Exception:
        _require(interpreter, exprs)
        raise


def _environment(values: Mapping[str, Any], symbols: Mapping[str, sympy.Basic]) -> tuple[dict, dict]:
    """The values given, keyed by their SymPy symbols, and the dimension sizes they fix."""
    env: dict[sympy.Basic, Any] = {}
    dims: dict[sympy.Symbol, int] = {}
    for name, symbol in symbols.items():
        if name in values:
            env[symbol] = _as_input(name, symbol, values[name], dims)
    return env, dims


def _as_input(name: str, symbol, value, dims: dict) -> Any:
    """A value as the interpreter reads it: a 2-D float array for a matrix symbol (its sizes
    checked against, or recorded in, `dims`), else a float."""
    import numpy as np

    axes = _axes(symbol)
    if axes is None:
        return float(value)
    array = np.asarray(value, dtype=float)
    if array.ndim == 1:
        array = array.reshape(-1, 1) if axes[1] == 1 else array.reshape(1, -1)
    if array.ndim != 2:
        raise DeriveError(f"evaluate: {name} must be a 1-D or 2-D array")
    for dim, size in zip(axes, array.shape):
        if isinstance(dim, int):
            if dim != size:
                raise DeriveError(f"evaluate: {name} should have shape {symbol.shape}, got {array.shape}")
        elif dims.setdefault(dim, size) != size:
            raise DeriveError(f"evaluate: {name} has {size} where {dim} = {dims[dim]} elsewhere")
    return array


@lru_cache(maxsize=CACHE_SIZE)
def _axes(symbol) -> tuple | None:
    """A matrix symbol's dimensions, each a whole number or the dimension symbol; None for a scalar."""
    if not isinstance(symbol, sympy.MatrixSymbol):
        return None
    return tuple(dim if isinstance(dim, sympy.Symbol) else int(dim) for dim in symbol.shape)


def _require(interpreter: _Interpreter, exprs: Iterable[sympy.Basic]) -> None:
    """Name every input the expressions read that has no value (all of them, sorted)."""
    missing = sorted({str(s) for expr in exprs for s in _free(expr)
                      if s not in interpreter.env and not (isinstance(s, sympy.Symbol) and s in interpreter.dims)})
    if missing:
        raise DeriveError(f"evaluate needs a value for {', '.join(missing)}")


def clear_caches() -> None:
    """Forget every plan and compiled function (benchmarks and tests that count compilations start here)."""
    _free.cache_clear()
    _axes.cache_clear()
    _plan.cache_clear()
    _compiled.cache_clear()


def is_array_valued(expr) -> bool:
    """An array, or a case split whose cases are arrays."""
    if isinstance(expr, sympy.Piecewise):
        return any(is_array(value) for value, _ in expr.args)
    return is_array(expr)


@lru_cache(maxsize=CACHE_SIZE)
def _free(expr) -> frozenset:
    """The symbols and matrix symbols `expr` reads, except dimensions (positive integers).

    Cached, and a walk over distinct nodes: the check evaluates the same
    expressions at hundreds of points, and their trees repeat subtrees.
    """
    found = set()
    for e in _distinct_nodes(expr):
        if isinstance(e, sympy.MatrixSymbol) or (isinstance(e, sympy.Symbol) and not (e.is_integer and e.is_positive)):
            found.add(e)
    return frozenset(found)


def _distinct_nodes(expr, stop: tuple = ()) -> list:
    """Every distinct node of `expr` once, in preorder; the children of `stop` classes are not entered."""
    seen, order, stack = set(), [], [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        if not isinstance(node, stop):
            stack.extend(reversed(node.args))
    return order


class _Interpreter:
    """One method per expression class; scalar bodies go through lambdify, compiled once each.

    `memo` holds every node computed in this evaluation, keyed by the node:
    a subexpression that occurs many times (the same hᵢ inside every later
    layer) is computed once. `calls` counts `value` calls, for the tests
    that pin the cost to the number of distinct nodes.
    """

    def __init__(self, env: dict, dims: dict) -> None:
        import numpy as np

        self.np = np
        self.env = env
        self.dims = dims
        self.memo: dict[sympy.Basic, Any] = {}
        self.calls = 0

    def bind(self, name: str, symbol, value) -> None:
        """Give `symbol` (a named intermediate) its computed value, as if it had been an input."""
        self.env[symbol] = _as_input(name, symbol, value, self.dims)

    def size(self, dim) -> int:
        if isinstance(dim, (int, sympy.Integer)):
            return int(dim)
        if dim in self.dims:
            return self.dims[dim]
        return int(dim.xreplace(self.dims))

    def value(self, expr):
        self.calls += 1
        known = self.env.get(expr, _UNSET)  # one lookup: an input equal to, not the same object as, its
        if known is _UNSET:                 # symbol costs SymPy's __eq__ on every probe
            known = self.memo.get(expr, _UNSET)
            if known is _UNSET:
                known = self.memo[expr] = self._compute(expr)
        return known

    def _compute(self, expr):
        return _handler(type(expr))(self, expr)

    # -- one method per class, chosen by `_handler` (in the order of `_HANDLERS`) --

    def _missing(self, expr):
        raise DeriveError(f"evaluate needs a value for {expr}")

    def _identity(self, expr):
        return self.np.eye(self.size(expr.shape[0]))

    def _ones(self, expr):
        return self.np.ones((self.size(expr.shape[0]), self.size(expr.shape[1])))

    def _zeros(self, expr):
        return self.np.zeros((self.size(expr.shape[0]), self.size(expr.shape[1])))

    def _transpose(self, expr):
        return self.np.transpose(self.value(expr.arg))

    def _matmul(self, expr):
        return self._product(expr.args)

    def _matadd(self, expr):
        return sum(self.value(a) for a in expr.args)

    def _block(self, expr):
        return self.np.block([[self.value(block) for block in row] for row in expr.blocks.tolist()])

    def _diag(self, expr):
        return self.np.diag(self.np.ravel(self.value(expr.vector)))

    def _diag_part(self, expr):
        return self.np.diag(self.value(expr.arg)).reshape(-1, 1)

    def _inverse(self, expr):
        return self.np.linalg.inv(self.value(expr.arg))

    def _matrix_scalar(self, expr):
        return MATRIX_SCALARS[type(expr)](self.np, self.value(expr.args[0]))

    def _explicit(self, expr):
        return self.np.array([[self.value(e) for e in row] for row in expr.tolist()], dtype=float)

    def _elementwise(self, expr):
        shape = (self.size(expr.shape[0]), self.size(expr.shape[1]))
        value = self._scalar(expr.body)
        if self.np.shape(value) == shape:  # the same copy as below, without broadcast_to's 7 µs
            return self.np.array(value, dtype=float)
        return self.np.broadcast_to(value, shape).astype(float)

    def _piecewise(self, expr):
        if not any(is_array(v) for v, _ in expr.args):
            return self._scalar(expr)
        for value, condition in expr.args:
            if condition == sympy.true or bool(self._scalar(condition)):
                return self.value(value)
        raise DeriveError("evaluate: no case of the piecewise result applies")

    def _product(self, factors):
        np = self.np
        result = None
        for factor in factors:
            v = self.value(factor)
            if result is None:
                result = v
            elif np.ndim(result) == 2 and np.ndim(v) == 2:
                result = result @ v
            else:
                result = result * v
        return result

    def _scalar(self, expr):
        """A scalar (or element-wise) expression: its array-valued atoms by the interpreter, the rest compiled."""
        plan = _plan(expr)
        arguments = [self._atom(atom) for atom in plan.atoms]
        for s in plan.scalars:
            if s in self.dims:
                arguments.append(self.dims[s])
            elif s in self.env:
                arguments.append(self.env[s])
            else:
                raise DeriveError(f"evaluate needs a value for {s}")
        return plan.run(arguments)

    def _atom(self, atom):
        if isinstance(atom, Elem):
            return self.value(atom.array)
        if isinstance(atom, ReduceSum):
            return self.np.sum(self.value(atom.array))
        return self.value(atom)


#: (which classes, method) in the order they are tried; anything else is a scalar expression
_HANDLERS = (
    (lambda kind: issubclass(kind, sympy.MatrixSymbol), _Interpreter._missing),
    (lambda kind: issubclass(kind, sympy.Identity), _Interpreter._identity),
    (lambda kind: issubclass(kind, sympy.OneMatrix), _Interpreter._ones),
    (lambda kind: issubclass(kind, sympy.ZeroMatrix), _Interpreter._zeros),
    (lambda kind: issubclass(kind, sympy.Transpose), _Interpreter._transpose),
    (lambda kind: issubclass(kind, sympy.MatMul), _Interpreter._matmul),
    (lambda kind: issubclass(kind, sympy.MatAdd), _Interpreter._matadd),
    (lambda kind: issubclass(kind, sympy.BlockMatrix), _Interpreter._block),
    (lambda kind: issubclass(kind, Diag), _Interpreter._diag),
    (lambda kind: issubclass(kind, DiagPart), _Interpreter._diag_part),
    (lambda kind: issubclass(kind, sympy.Inverse), _Interpreter._inverse),
    (lambda kind: kind in MATRIX_SCALARS, _Interpreter._matrix_scalar),
    (lambda kind: issubclass(kind, sympy.MatrixBase), _Interpreter._explicit),
    (lambda kind: issubclass(kind, Elementwise), _Interpreter._elementwise),
    (lambda kind: issubclass(kind, sympy.Piecewise), _Interpreter._piecewise),
)


@cache
def _handler(kind: type):
    """The method for one class, found once (a chain of isinstance tests was most of a small evaluation)."""
    return next((method for applies, method in _HANDLERS if applies(kind)), _Interpreter._scalar)


@dataclass(frozen=True)
class _Plan:
    """A scalar expression taken apart: its array atoms, then its scalar inputs, each a numbered
    placeholder of `body` (in that order)."""

    atoms: tuple
    scalars: tuple
    body: sympy.Basic

    def run(self, arguments: list):
        """The compiled body at `arguments`; entry by entry with mpmath for a function NumPy lacks."""
        import numpy as np

        parameters = tuple(_placeholders(len(self.atoms) + len(self.scalars)))
        try:
            return _compiled(self.body, parameters, "numpy")(*arguments)
        except NameError:  # a special function NumPy lacks (polygamma, …): mpmath, entry by entry
            return np.vectorize(_compiled(self.body, parameters, "mpmath"), otypes=[float])(*arguments)


@lru_cache(maxsize=CACHE_SIZE)
def _plan(expr) -> _Plan:
    """The array atoms of `expr` in order of appearance, and its scalars by name, replaced by placeholders.

    The walk does not enter an atom: what is nested inside one is left to that
    atom's own evaluation (evaluating it here too, for every level around it,
    is what made nested layers exponential). Every input becomes a
    placeholder, so tanh(Elem(u1)) and tanh(Elem(u7)) are one body, and every
    argument is a plain Python name: lambdify renames (and rebuilds the body
    through SymPy's assumptions, most of a small check) when one is a Dummy
    or a name such as dJ/du.
    """
    outside = _distinct_nodes(expr, stop=ARRAY_ATOMS)
    atoms = [node for node in outside if isinstance(node, ARRAY_ATOMS)]
    reachable = set(outside)
    scalars = sorted((s for s in expr.free_symbols if s in reachable and not isinstance(s, sympy.Dummy)), key=str)
    body = expr.xreplace(dict(zip([*atoms, *scalars], _placeholders(len(atoms) + len(scalars)))))
    return _Plan(tuple(atoms), tuple(scalars), body)


@lru_cache(maxsize=CACHE_SIZE)
def _compiled(body: sympy.Basic, parameters: tuple, module: str):
    """One lambdified function per distinct body: the same body at other values is not recompiled."""
    if module != "numpy":
        return sympy.lambdify(list(parameters), body, modules=module)
    from sympy.printing.numpy import NumPyPrinter

    printer = NumPyPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                            "user_functions": {}})  # the settings lambdify(modules="numpy") prints with
    return sympy.lambdify(list(parameters), body, modules=[_numpy_namespace()], printer=printer)


@lru_cache(maxsize=1)
def _numpy_namespace() -> dict:
    """The names lambdify(modules="numpy") resolves code in, without its `from numpy import *`.

    That star import touches every lazily loaded NumPy submodule (numpy.f2py,
    numpy.testing: 0.06–0.16 s, most of a small check). Only the names already
    loaded are taken; generated code never names a submodule bare.
    """
    import numpy
    from sympy.utilities.lambdify import NUMPY_DEFAULT, NUMPY_TRANSLATIONS

    namespace = {"numpy": numpy}
    for module in (numpy, numpy.linalg):
        namespace.update({name: value for name in module.__all__ if (value := vars(module).get(name)) is not None})
    namespace.update(NUMPY_DEFAULT)
    namespace.update({ours: namespace[theirs] for ours, theirs in NUMPY_TRANSLATIONS.items()})
    namespace.setdefault("Abs", abs)
    return namespace


_PLACEHOLDER_POOL: list[sympy.Symbol] = []


def _placeholders(count: int) -> list[sympy.Symbol]:
    """The same numbered placeholders every time, so equal bodies are equal cache keys.

    Real, as array elements and the engine's scalars are; named _p0, _p1, …,
    which no input can be (names start with a letter), and every other
    symbol of a body is replaced at the same time.
    """
    while len(_PLACEHOLDER_POOL) < count:
        _PLACEHOLDER_POOL.append(sympy.Symbol(f"_p{len(_PLACEHOLDER_POOL)}", real=True))
    return _PLACEHOLDER_POOL[:count]
