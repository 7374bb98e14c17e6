"""The shape of expression trees: flatter where it costs nothing, and measured without recursion.

Graphs of more than 300 operations are built without SymPy's evaluation, so a
sum of 400 terms arrives as Add(Add(Add(…), x), x), 400 levels deep, and every
recursive walk over it (srepr, the LaTeX and NumPy printers, pickle, the
checks) ran out of Python's stack. `flatten` splices nested sums into one sum
and nested products into one product, exactly as SymPy's own evaluation would
(the terms and their order are unchanged, nothing is combined). What it
cannot flatten, such as the nesting of a product rule, `height` measures, so
callers decide where a tree can be walked (see `render.deep`).

Both walk with an explicit stack and remember each distinct subtree by
identity (not by hash: hashing a deep tree recurses too).
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref
from collections.abc import Iterator
from typing import Any

import sympy
from sympy.core.parameters import distribute, evaluate

_SPLICED = (sympy.Add, sympy.Mul)


@contextlib.contextmanager
def sympy_defaults() -> Iterator[None]:
    """SymPy's default evaluation state for the duration, whatever the caller set.

    A caller inside `with sympy.evaluate(False):` made derive() hang for
    minutes or fail with TypeError: the package's code expects SymPy to
    evaluate. The state is thread-local in SymPy, and restored on exit, so
    the caller's own block keeps its setting.
    """
    with evaluate(True), distribute(True):
        yield


def flatten(expr: Any, memo: dict | None = None) -> Any:
    """`expr` with every sum inside a sum and product inside a product spliced into its parent."""
    if not isinstance(expr, sympy.Basic) or not expr.args:
        return expr
    memo = {} if memo is None else memo
    _walk(expr, memo, {})
    return memo[id(expr)][1]


def _walk(expr: sympy.Basic, memo: dict, heights: dict) -> int:
    """Flatten `expr` into `memo` (id → (node, rebuilt)) and return the rebuilt tree's height.

    `heights` maps the id of every rebuilt subtree to its height, so the
    height costs nothing beyond the flattening walk.
    """
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in memo:
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args
                         if isinstance(a, sympy.Basic) and a.args and id(a) not in memo)
            continue
        rebuilt = _rebuilt(node, memo)
        memo[id(node)] = (node, rebuilt)  # the node is kept, so its id cannot be reused
        heights[id(rebuilt)] = 1 + max((heights.get(id(a), 1) for a in rebuilt.args if isinstance(a, sympy.Basic)),
                                       default=0)
    return heights[id(memo[id(expr)][1])] if expr.args else 1


def _rebuilt(node: sympy.Basic, memo: dict) -> sympy.Basic:
    args = [memo[id(a)][1] if isinstance(a, sympy.Basic) and a.args else a for a in node.args]
    kind = type(node)
    if kind in _SPLICED:
        spliced: list = []
        for arg in args:
            spliced.extend(arg.args if type(arg) is kind else (arg,))
        if len(spliced) != len(args) or any(a is not b for a, b in zip(args, node.args)):
            return kind(*spliced, evaluate=False)
        return node
    if all(a is b for a, b in zip(args, node.args)):
        return node
    try:
        with evaluate(False):
            return node.func(*args)
    except Exception:  # noqa: BLE001 - a class that cannot be rebuilt from its args keeps its own (deeper) form
        return node


def height(expr: Any, memo: dict | None = None) -> int:
    """Levels of the tree (an atom is 1), without recursion."""
    if not isinstance(expr, sympy.Basic):
        return 0
    memo = {} if memo is None else memo
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in memo:
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if isinstance(a, sympy.Basic) and id(a) not in memo)
            continue
        below = max((memo[id(a)][1] for a in node.args if isinstance(a, sympy.Basic)), default=0)
        memo[id(node)] = (node, below + 1)
    return memo[id(expr)][1]


def largest_array(exprs, dims: dict) -> tuple[int, tuple]:
    """(entries, shape) of the largest array among `exprs` and their subexpressions, dimensions put in.

    Evaluating a matrix expression builds every array in it densely, so this
    is what evaluation would allocate at most at once (per array).
    """
    largest: tuple[int, tuple] = (0, ())
    seen: set[int] = set()
    stack = [e for e in exprs if isinstance(e, sympy.Basic)]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, (sympy.MatrixExpr, sympy.MatrixBase)):
            shape = tuple(_size(d, dims) for d in node.shape)
            entries = shape[0] * shape[1]
            if entries > largest[0]:
                largest = (entries, shape)
        if not isinstance(node, sympy.MatrixBase):
            stack.extend(a for a in node.args if isinstance(a, sympy.Basic))
    return largest


def refuse_dense(exprs, dims: dict, what: str, advice: str) -> None:
    """A DeriveError, before anything is allocated, when an array would exceed `limits.MAX_DENSE_ENTRIES`."""
    from .errors import DeriveError
    from .limits import MAX_DENSE_ENTRIES

    entries, shape = largest_array(exprs, dims)
    if entries > MAX_DENSE_ENTRIES:
        raise DeriveError(f"{what} would build an array of {shape[0]}×{shape[1]} = {entries} entries; the limit is "
                          f"{MAX_DENSE_ENTRIES} ({advice})")


def dimensions_of(symbols: dict, values: dict) -> dict:
    """Symbolic dimensions read off the arrays given for evaluation (1-D arrays are columns)."""
    import numpy as np

    dims: dict = {}
    for name, symbol in symbols.items():
        if name not in values or not isinstance(symbol, sympy.MatrixExpr):
            continue
        shape = np.shape(values[name])
        if len(shape) == 1:
            shape = (shape[0], 1) if symbol.shape[1] == 1 else (1, shape[0])
        for dim, size in zip(symbol.shape, shape):
            if isinstance(dim, sympy.Symbol):
                dims.setdefault(dim, int(size))
    return dims


def _size(dim, dims: dict) -> int:
    value = dim.xreplace(dims) if isinstance(dim, sympy.Basic) else dim
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1


def derivation_arrays(derivation) -> list:
    """The expressions evaluation walks: the result, the expression, gradients, definitions and the inputs."""
    return [derivation.expression, derivation.result, *derivation.gradients.values(),
            *derivation.definitions.values(), *derivation.symbols.values()]


def _expressions(derivation) -> list:
    found = [derivation.expression, derivation.result, *derivation.gradients.values(),
             *derivation.definitions.values()]
    for step in derivation.steps:
        found += [step.lhs, step.rhs, step.formula]
    expansion = derivation.expansion
    if expansion is not None:
        found += [expansion.components, expansion.jacobian, expansion.vector_result]
    return found


#: id(derivation) → (weak reference, height): derivations are immutable, and each renderer asks
_tallest: dict[int, tuple[weakref.ref, int]] = {}


def tallest(derivation) -> int:
    """The height of the tallest expression a derivation holds (what every renderer walks), remembered."""
    known = _tallest.get(id(derivation))
    if known is not None and known[0]() is derivation:
        return known[1]
    memo: dict = {}
    value = max((height(e, memo) for e in _expressions(derivation)), default=0)
    _remember(derivation, value)
    return value


def _remember(derivation, value: int) -> None:
    key = id(derivation)
    _tallest[key] = (weakref.ref(derivation, lambda _, key=key: _tallest.pop(key, None)), value)


def flatten_derivation(derivation):
    """The derivation with every expression flattened (one memo: the steps share their subtrees).

    The walk measures the flattened trees too, so the renderers' `tallest` is free afterwards.
    """
    memo: dict = {}
    heights: dict = {}
    tallest_seen = [0]

    def flat(expr):
        if not isinstance(expr, sympy.Basic):
            return expr
        tallest_seen[0] = max(tallest_seen[0], _walk(expr, memo, heights))
        return memo[id(expr)][1] if expr.args else expr

    steps = [dataclasses.replace(s, lhs=flat(s.lhs), rhs=flat(s.rhs), formula=flat(s.formula))
             for s in derivation.steps]
    flattened = dataclasses.replace(
        derivation, expression=flat(derivation.expression), result=flat(derivation.result), steps=steps,
        gradients={k: flat(v) for k, v in derivation.gradients.items()},
        definitions={k: flat(v) for k, v in derivation.definitions.items()},
    )
    if derivation.expansion is None:  # an expansion's matrices were not walked here
        _remember(flattened, tallest_seen[0])
    return flattened
