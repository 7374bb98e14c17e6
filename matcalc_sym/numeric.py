"""Numbers from a derivation: results (scalars, vectors, matrices) evaluated with NumPy.

Array results are SymPy matrix expressions with the package's own classes
(`Elementwise`, `Diag`, `ReduceSum`, `Ones`), so they are compiled into
closures over NumPy, one per class (`compiled.program`), rather than handed
to lambdify whole. Dimension symbols (n, N) are read off the arrays given.

The cost of an evaluation is linear in the number of distinct nodes, and the
compiling is done once per expression: `evaluate()` compiles a derivation's
definitions and results as one program, so what they share is computed once
(it was exponential in a network's depth: `--check` of a 10-layer network
took 50 s).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import sympy

from . import compiled
from .arrays import is_array
from .compiled import Run, distinct_nodes
from .errors import DeriveError

CACHE_SIZE = compiled.CACHE_SIZE


def evaluate(derivation, values: Mapping[str, Any]) -> Any:
    """`derivation.result` at `values`: a float when scalar, else a 2-D ndarray.

    Named intermediates missing from `values` are computed first, in the same
    run as the result, so what they share is computed once.
    """
    import numpy as np

    definitions = list(derivation.definitions.items())
    several = bool(derivation.gradients) and len(derivation.gradients) > 1
    results = list(derivation.gradients.values()) if several else [derivation.result]
    closures = compiled.program((*(d for _, d in definitions), *results))
    run = Run(*_environment(values, derivation.symbols))
    with np.errstate(all="ignore"):
        for (name, definition), closure in zip(definitions, closures):
            if name not in values:
                value = _value_of(run, [closure], [definition])[0]
                run.env[derivation.symbols[name]] = _as_input(name, derivation.symbols[name], value, run.dims)
        computed = _value_of(run, closures[len(definitions):], results)
    if several:
        return {name: _shaped(v, g) for (name, g), v in zip(derivation.gradients.items(), computed)}
    return _shaped(computed[0], derivation.result)


def _shaped(value, expr):
    import numpy as np

    if is_array_valued(expr):
        return np.atleast_2d(np.asarray(value, dtype=float))
    return float(np.real_if_close(value))


def evaluate_expression(expr: sympy.Basic, values: Mapping[str, Any], symbols: Mapping[str, sympy.Basic]) -> Any:
    """Any expression the engine builds, at `values` (1-D inputs are columns)."""
    import numpy as np

    run = Run(*_environment(values, symbols))
    with np.errstate(all="ignore"):
        return _value_of(run, compiled.program((expr,)), [expr])[0]


def expression_at(expr: sympy.Basic, values: Mapping[str, Any], symbols: Mapping[str, sympy.Basic], varying: str):
    """`expr` as a function of one input's value, the others as in `values`.

    A finite difference evaluates an expression hundreds of times with one
    input moved; converting every other input again each time was nearly
    half of each evaluation, so they are converted once here.
    """
    import numpy as np

    env, dims = _environment({name: value for name, value in values.items() if name != varying}, symbols)
    symbol = symbols[varying]
    closures = compiled.program((expr,))

    def at(value):
        sizes = dict(dims)
        inputs = {**env, symbol: _as_input(varying, symbol, value, sizes)}
        with np.errstate(all="ignore"):
            return _value_of(Run(inputs, sizes), closures, [expr])[0]

    return at


def _value_of(run: Run, closures, exprs: list) -> list:
    """The expressions' values; where computing fails, a missing input is named as the reason.

    Checking the inputs first, on every call, was a tenth of a small
    evaluation, and the check evaluates thousands; an input without a value
    fails the computation anyway, so the inputs are checked then.
    """
    try:
        return [closure(run) for closure in closures]
    except Exception:
        _require(run, exprs)
        raise


def _environment(values: Mapping[str, Any], symbols: Mapping[str, sympy.Basic]) -> tuple[dict, dict]:
    """The values given, keyed by their SymPy symbols, and the dimension sizes they fix."""
    env: dict[sympy.Basic, Any] = {}
    dims: dict[sympy.Symbol, int] = {}
    for name, symbol in symbols.items():
        if name in values:
            env[symbol] = _as_input(name, symbol, values[name], dims)
            if isinstance(symbol, sympy.Symbol) and symbol.is_integer and symbol.is_positive:
                dims.setdefault(symbol, int(values[name]))  # a dimension given as a number sizes m·n too
    return env, dims


def _as_input(name: str, symbol, value, dims: dict) -> Any:
    """A value as the compiled closures read it: a 2-D float array for a matrix symbol (its sizes
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
        elif not isinstance(dim, sympy.Symbol):
            continue  # a product of dimensions (kron's m·n): fixed by its factors, not by this array
        elif dims.setdefault(dim, size) != size:
            raise DeriveError(f"evaluate: {name} has {size} where {dim} = {dims[dim]} elsewhere")
    return array


@lru_cache(maxsize=CACHE_SIZE)
def _axes(symbol) -> tuple | None:
    """A matrix symbol's dimensions, each a whole number, the dimension symbol, or an expression in
    them (m·n); None for a scalar."""
    if not isinstance(symbol, sympy.MatrixSymbol):
        return None
    return tuple(int(dim) if dim.is_Integer else dim for dim in symbol.shape)


def _require(run: Run, exprs: Iterable[sympy.Basic]) -> None:
    """Name every input the expressions read that has no value (all of them, sorted)."""
    missing = sorted({str(s) for expr in exprs for s in _free(expr)
                      if s not in run.env and not (isinstance(s, sympy.Symbol) and s in run.dims)})
    if missing:
        raise DeriveError(f"evaluate needs a value for {', '.join(missing)}")


def clear_caches() -> None:
    """Forget every plan and compiled function (benchmarks and tests that count compilations start here)."""
    _free.cache_clear()
    _axes.cache_clear()
    compiled.clear_caches()


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
    for e in distinct_nodes(expr):
        if isinstance(e, sympy.MatrixSymbol) or (isinstance(e, sympy.Symbol) and not (e.is_integer and e.is_positive)):
            found.add(e)
    return frozenset(found)
