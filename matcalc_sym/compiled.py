"""Expressions compiled once into Python closures over NumPy, then evaluated many times.

`numeric` evaluates the engine's expressions (the package's own array classes
`Elementwise`, `Diag`, `ReduceSum`, `Ones` and SymPy's matrix algebra). The
check evaluates the same few expressions thousands of times at other points,
so the work that depends only on the expression is done once, here:

* `program(exprs)` turns a tuple of expressions (a derivation's definitions
  and results, or one step's formula) into one closure per expression: one
  closure per distinct node, the class of each node resolved when compiling,
  the nodes shared between expressions shared as closures;
* every node is computed at most once per evaluation (`Run.memo`, by the
  node's number in its program): hᵢ's definition holds hᵢ₋₁'s, and every
  gradient of a network reads the same intermediates, so a tree walk, or
  computing a nested element-wise array again for every array around it, was
  exponential in the depth of a network;
* a scalar body is compiled with lambdify once per distinct body (`_plan`
  replaces its array atoms and its scalars by numbered placeholders, so
  tanh(Elem(u1)) and tanh(Elem(u7)) share one function).

All caches are bounded (LRU). Each class's closure does exactly what the
interpreter it replaced did, in the same order, so the numbers are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy

from .arrays import Elem, Elementwise, is_array
from .errors import DeriveError
from .operations import of, operation_classes, scalar_classes


def array_atoms() -> tuple[type, ...]:
    """Atoms of a scalar body whose value is computed from an array (by a closure, not by lambdify):
    an element, and every declared operation with a scalar value (sum, trace, det, …)."""
    return (Elem, *scalar_classes())

#: distinct programs, plans and compiled bodies kept between evaluations
CACHE_SIZE = 4096
_UNSET = object()

Closure = Callable[["Run"], Any]


class Run:
    """One evaluation: the inputs by symbol, the dimension sizes, and every node computed so far.

    `computed` counts the nodes computed, for the tests that pin the cost of
    an evaluation to the number of distinct nodes.
    """

    __slots__ = ("env", "dims", "memo", "computed")

    def __init__(self, env: dict, dims: dict) -> None:
        self.env = env
        self.dims = dims
        self.memo: dict[int, Any] = {}
        self.computed = 0


@lru_cache(maxsize=CACHE_SIZE)
def program(exprs: tuple) -> tuple[Closure, ...]:
    """One closure per expression of `exprs`; nodes they share are one closure, computed once per `Run`."""
    compiler = _Compiler()
    return tuple(compiler.node(expr) for expr in exprs)


class _Compiler:
    """Builds the closures, one method per expression class (tried in the order of `_BUILDERS`)."""

    def __init__(self) -> None:
        import numpy

        self.np = numpy
        self.built: dict[sympy.Basic, Closure] = {}

    def node(self, expr) -> Closure:
        closure = self.built.get(expr)
        if closure is None:
            closure = self.built[expr] = self._build(expr)
        return closure

    def _build(self, expr) -> Closure:
        if isinstance(expr, (sympy.MatrixSymbol, sympy.Symbol)):
            return _input(expr)
        builder = next((build for applies, build in _BUILDERS if applies(type(expr))), _Compiler._scalar)
        return _memoized(builder(self, expr), len(self.built))

    # -- arrays --

    def _identity(self, expr) -> Closure:
        np, rows = self.np, _size(expr.shape[0])
        return lambda run: np.eye(rows(run))

    def _ones(self, expr) -> Closure:
        np, rows, cols = self.np, _size(expr.shape[0]), _size(expr.shape[1])
        return lambda run: np.ones((rows(run), cols(run)))

    def _zeros(self, expr) -> Closure:
        np, rows, cols = self.np, _size(expr.shape[0]), _size(expr.shape[1])
        return lambda run: np.zeros((rows(run), cols(run)))

    def _transpose(self, expr) -> Closure:
        np, arg = self.np, self.node(expr.arg)
        return lambda run: np.transpose(arg(run))

    def _matmul(self, expr) -> Closure:
        """Left to right: a 2-D factor multiplies by @, anything else (a scalar) by *."""
        ndim, factors = self.np.ndim, [self.node(a) for a in expr.args]

        def product(run):
            result = None
            for factor in factors:
                v = factor(run)
                if result is None:
                    result = v
                elif ndim(result) == 2 and ndim(v) == 2:
                    result = result @ v
                else:
                    result = result * v
            return result

        return product

    def _matadd(self, expr) -> Closure:
        terms = [self.node(a) for a in expr.args]
        return lambda run: sum(term(run) for term in terms)

    def _block(self, expr) -> Closure:
        np, rows = self.np, [[self.node(block) for block in row] for row in expr.blocks.tolist()]
        return lambda run: np.block([[block(run) for block in row] for row in rows])

    def _operation(self, expr) -> Closure:
        """A declared operation (matcalc_sym.operations): its own NumPy value of its operands' values."""
        np, declared = self.np, of(expr)
        operands = [self.node(a) for a in declared.operands(expr)]
        value = declared.value
        return lambda run: value(np, [operand(run) for operand in operands], expr)

    def _explicit(self, expr) -> Closure:
        np, rows = self.np, [[self.node(e) for e in row] for row in expr.tolist()]
        return lambda run: np.array([[entry(run) for entry in row] for row in rows], dtype=float)

    def _elementwise(self, expr) -> Closure:
        np, body = self.np, self._scalar(expr.body)
        rows, cols = _size(expr.shape[0]), _size(expr.shape[1])

        def elementwise(run):
            shape = (rows(run), cols(run))
            value = body(run)
            if np.shape(value) == shape:  # the same copy as below, without broadcast_to's 7 µs
                return np.array(value, dtype=float)
            return np.broadcast_to(value, shape).astype(float)

        return elementwise

    def _piecewise(self, expr) -> Closure:
        """A case split of arrays: the first case whose condition holds, the others never computed."""
        if not any(is_array(v) for v, _ in expr.args):
            return self._scalar(expr)
        cases = [(self.node(value), None if condition == sympy.true else self._scalar(condition))
                 for value, condition in expr.args]

        def piecewise(run):
            for value, condition in cases:
                if condition is None or bool(condition(run)):
                    return value(run)
            raise DeriveError("evaluate: no case of the piecewise result applies")

        return piecewise

    # -- scalars --

    def _scalar(self, expr) -> Closure:
        """A scalar (or element-wise) expression: its array atoms by closures, the rest by lambdify."""
        plan = _plan(expr)
        atoms = [self._atom(atom) for atom in plan.atoms]
        scalars = [_scalar_input(s) for s in plan.scalars]
        return lambda run: plan.run([*(atom(run) for atom in atoms), *(scalar(run) for scalar in scalars)])

    def _atom(self, atom) -> Closure:
        if isinstance(atom, Elem):
            return self.node(atom.array)
        return self.node(atom)


#: (which classes, builder) in the order they are tried; anything else is a scalar expression
_BUILDERS = (
    (lambda kind: issubclass(kind, sympy.Identity), _Compiler._identity),
    (lambda kind: issubclass(kind, sympy.OneMatrix), _Compiler._ones),
    (lambda kind: issubclass(kind, sympy.ZeroMatrix), _Compiler._zeros),
    (lambda kind: issubclass(kind, sympy.Transpose), _Compiler._transpose),
    (lambda kind: issubclass(kind, sympy.MatMul), _Compiler._matmul),
    (lambda kind: issubclass(kind, sympy.MatAdd), _Compiler._matadd),
    (lambda kind: issubclass(kind, sympy.BlockMatrix), _Compiler._block),
    (lambda kind: issubclass(kind, operation_classes()), _Compiler._operation),
    (lambda kind: issubclass(kind, sympy.MatrixBase), _Compiler._explicit),
    (lambda kind: issubclass(kind, Elementwise), _Compiler._elementwise),
    (lambda kind: issubclass(kind, sympy.Piecewise), _Compiler._piecewise),
)


def _memoized(compute: Closure, key: int) -> Closure:
    def memoized(run):
        value = run.memo.get(key, _UNSET)
        if value is _UNSET:
            run.computed += 1
            value = run.memo[key] = compute(run)
        return value

    return memoized


def _input(symbol) -> Closure:
    """An input by its symbol (a matrix, a scalar, or a dimension used as a number)."""
    matrix = isinstance(symbol, sympy.MatrixSymbol)

    def read(run):
        value = run.env.get(symbol, _UNSET)
        if value is _UNSET:
            value = _UNSET if matrix else run.dims.get(symbol, _UNSET)
            if value is _UNSET:
                raise DeriveError(f"evaluate needs a value for {symbol}")
        return value

    return read


def _scalar_input(symbol) -> Closure:
    """A scalar of a body: a dimension's size first, then a given value."""

    def read(run):
        value = run.dims.get(symbol, _UNSET)
        if value is _UNSET:
            value = run.env.get(symbol, _UNSET)
            if value is _UNSET:
                raise DeriveError(f"evaluate needs a value for {symbol}")
        return value

    return read


def _size(dim) -> Closure:
    """A dimension's size at run time: a whole number, a dimension symbol's size, or an expression in them."""
    if isinstance(dim, (int, sympy.Integer)):
        size = int(dim)
        return lambda run: size
    if isinstance(dim, sympy.Symbol):
        return lambda run: run.dims[dim] if dim in run.dims else int(dim)  # int(n) raises, as it always did
    return lambda run: int(dim.xreplace(run.dims))


@dataclass
class _Plan:
    """A scalar expression taken apart: its array atoms, then its scalar inputs, each a numbered
    placeholder of `body` (`parameters`, in that order); `run` compiles the body on first use."""

    atoms: tuple
    scalars: tuple
    body: sympy.Basic
    parameters: tuple
    function: Callable | None = None

    def run(self, arguments: list):
        """The compiled body at `arguments`; entry by entry with mpmath for a function NumPy lacks.

        Arguments of different shapes are broadcast against each other first,
        entry by entry as the body means: a mask 𝟙[zᵢ > 0] and a scalar
        condition s > 0 meet in lambdify's logical_and.reduce((z > 0, s > 0)),
        which NumPy refuses for unequal shapes.
        """
        import numpy as np

        if self.function is None:
            self.function = _compiled(self.body, self.parameters, "numpy")
        if len({np.shape(a) for a in arguments}) > 1:
            arguments = list(np.broadcast_arrays(*arguments))
        try:
            return self.function(*arguments)
        except (NameError, TypeError):
            # a special function NumPy lacks (polygamma, …), or one lambdify takes from `math` (erf, as in
            # GELU's derivative), which refuses an array: mpmath, entry by entry
            return np.vectorize(_compiled(self.body, self.parameters, "mpmath"), otypes=[float])(*arguments)


@lru_cache(maxsize=CACHE_SIZE)
def _plan(expr) -> _Plan:
    """The array atoms of `expr` in order of appearance, and its scalars by name, replaced by placeholders.

    The walk does not enter an atom: what is nested inside one is left to that
    atom's own closure (evaluating it here too, for every level around it,
    is what made nested layers exponential). Every input becomes a
    placeholder, so tanh(Elem(u1)) and tanh(Elem(u7)) are one body, and every
    argument is a plain Python name: lambdify renames (and rebuilds the body
    through SymPy's assumptions, most of a small check) when one is a Dummy
    or a name such as dJ/du. An input the rebuilt body no longer reads is no
    argument (it would be computed for nothing, and broadcast the others).
    """
    stop = array_atoms()
    outside = distinct_nodes(expr, stop=stop)
    atoms = [node for node in outside if isinstance(node, stop)]
    reachable = set(outside)
    scalars = sorted((s for s in expr.free_symbols if s in reachable and not isinstance(s, sympy.Dummy)), key=str)
    placeholders = _placeholders(len(atoms) + len(scalars))
    body = expr.xreplace(dict(zip([*atoms, *scalars], placeholders)))
    used = body.free_symbols
    atom_pairs = [(a, p) for a, p in zip(atoms, placeholders) if p in used]
    scalar_pairs = [(s, p) for s, p in zip(scalars, placeholders[len(atoms):]) if p in used]
    return _Plan(tuple(a for a, _ in atom_pairs), tuple(s for s, _ in scalar_pairs), body,
                 tuple(p for _, p in [*atom_pairs, *scalar_pairs]))


def distinct_nodes(expr, stop: tuple = ()) -> list:
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


def clear_caches() -> None:
    """Forget every program, plan and compiled body."""
    program.cache_clear()
    _plan.cache_clear()
    _compiled.cache_clear()
