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
from functools import lru_cache
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
                _require(interpreter, [definition])
                interpreter.bind(name, derivation.symbols[name], interpreter.value(definition))
        if derivation.gradients and len(derivation.gradients) > 1:
            _require(interpreter, derivation.gradients.values())
            return {name: _shaped(interpreter.value(g), g) for name, g in derivation.gradients.items()}
        _require(interpreter, [derivation.result])
        return _shaped(interpreter.value(derivation.result), derivation.result)


def _shaped(value, expr):
    import numpy as np

    if is_array_valued(expr):
        return np.atleast_2d(np.asarray(value, dtype=float))
    return float(np.real_if_close(value))


def evaluate_expression(expr: sympy.Basic, values: Mapping[str, Any], symbols: Mapping[str, sympy.Basic]) -> Any:
    """Any expression the engine builds, at `values` (1-D inputs are columns)."""
    import numpy as np

    interpreter = _Interpreter(*_environment(values, symbols))
    _require(interpreter, [expr])
    with np.errstate(all="ignore"):
        return interpreter.value(expr)


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

    if not isinstance(symbol, sympy.MatrixSymbol):
        return float(value)
    array = np.asarray(value, dtype=float)
    if array.ndim == 1:
        array = array.reshape(-1, 1) if symbol.shape[1] == 1 else array.reshape(1, -1)
    if array.ndim != 2:
        raise DeriveError(f"evaluate: {name} must be a 1-D or 2-D array")
    for dim, size in zip(symbol.shape, array.shape):
        if isinstance(dim, sympy.Symbol):
            if dims.setdefault(dim, size) != size:
                raise DeriveError(f"evaluate: {name} has {size} where {dim} = {dims[dim]} elsewhere")
        elif int(dim) != size:
            raise DeriveError(f"evaluate: {name} should have shape {symbol.shape}, got {array.shape}")
    return array


def _require(interpreter: _Interpreter, exprs: Iterable[sympy.Basic]) -> None:
    """Name every input the expressions read that has no value, before computing anything."""
    missing = sorted({str(s) for expr in exprs for s in _free(expr)
                      if s not in interpreter.env and not (isinstance(s, sympy.Symbol) and s in interpreter.dims)})
    if missing:
        raise DeriveError(f"evaluate needs a value for {', '.join(missing)}")


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
        return int(sympy.Integer(dim) if isinstance(dim, int) else dim.xreplace(self.dims))

    def value(self, expr):
        self.calls += 1
        if expr in self.env:
            return self.env[expr]
        if expr not in self.memo:
            self.memo[expr] = self._compute(expr)
        return self.memo[expr]

    def _compute(self, expr):
        np = self.np
        if isinstance(expr, sympy.MatrixSymbol):
            raise DeriveError(f"evaluate needs a value for {expr}")
        if isinstance(expr, sympy.Identity):
            return np.eye(self.size(expr.shape[0]))
        if isinstance(expr, sympy.OneMatrix):
            return np.ones((self.size(expr.shape[0]), self.size(expr.shape[1])))
        if isinstance(expr, sympy.ZeroMatrix):
            return np.zeros((self.size(expr.shape[0]), self.size(expr.shape[1])))
        if isinstance(expr, sympy.Transpose):
            return np.transpose(self.value(expr.arg))
        if isinstance(expr, sympy.MatMul):
            return self._product(expr.args)
        if isinstance(expr, sympy.MatAdd):
            return sum(self.value(a) for a in expr.args)
        if isinstance(expr, sympy.BlockMatrix):
            return np.block([[self.value(block) for block in row] for row in expr.blocks.tolist()])
        if isinstance(expr, Diag):
            return np.diag(np.ravel(self.value(expr.vector)))
        if isinstance(expr, DiagPart):
            return np.diag(self.value(expr.arg)).reshape(-1, 1)
        if isinstance(expr, sympy.Inverse):
            return np.linalg.inv(self.value(expr.arg))
        if type(expr) in MATRIX_SCALARS:
            return MATRIX_SCALARS[type(expr)](np, self.value(expr.args[0]))
        if isinstance(expr, sympy.MatrixBase):
            return np.array([[self.value(e) for e in row] for row in expr.tolist()], dtype=float)
        if isinstance(expr, Elementwise):
            shape = (self.size(expr.shape[0]), self.size(expr.shape[1]))
            return np.broadcast_to(self._scalar(expr.body), shape).astype(float)
        if isinstance(expr, sympy.Piecewise) and any(is_array(v) for v, _ in expr.args):
            for value, condition in expr.args:
                if condition == sympy.true or bool(self._scalar(condition)):
                    return self.value(value)
            raise DeriveError("evaluate: no case of the piecewise result applies")
        return self._scalar(expr)

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


@dataclass(frozen=True)
class _Plan:
    """A scalar expression taken apart: array atoms (placeholders 0, 1, … of `body`), then scalar inputs."""

    atoms: tuple
    scalars: tuple
    body: sympy.Basic

    def run(self, arguments: list):
        """The compiled body at `arguments`; entry by entry with mpmath for a function NumPy lacks."""
        import numpy as np

        parameters = (*_placeholders(len(self.atoms)), *self.scalars)
        try:
            return _compiled(self.body, parameters, "numpy")(*arguments)
        except NameError:  # a special function NumPy lacks (polygamma, …): mpmath, entry by entry
            return np.vectorize(_compiled(self.body, parameters, "mpmath"), otypes=[float])(*arguments)


@lru_cache(maxsize=CACHE_SIZE)
def _plan(expr) -> _Plan:
    """The array atoms of `expr` in order of appearance, replaced by numbered placeholders.

    The walk does not enter an atom: what is nested inside one is left to that
    atom's own evaluation (evaluating it here too, for every level around it,
    is what made nested layers exponential).
    """
    atoms = [node for node in _distinct_nodes(expr, stop=ARRAY_ATOMS) if isinstance(node, ARRAY_ATOMS)]
    body = expr.xreplace(dict(zip(atoms, _placeholders(len(atoms)))))
    scalars = sorted((s for s in body.free_symbols if not isinstance(s, sympy.Dummy)), key=str)
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


_PLACEHOLDER_POOL: list[sympy.Dummy] = []


def _placeholders(count: int) -> list[sympy.Dummy]:
    """The same numbered placeholders every time, so equal bodies are equal cache keys."""
    while len(_PLACEHOLDER_POOL) < count:
        _PLACEHOLDER_POOL.append(sympy.Dummy(f"a{len(_PLACEHOLDER_POOL)}"))
    return _PLACEHOLDER_POOL[:count]
