"""Per-step verification: each `differentiate` step against its intermediate's definition.

A step states ∂uᵢ/∂p = (local derivative); the `introduce` steps state
uᵢ = (definition). With check on, every such statement is tested, so a wrong
rule is caught, and named, at the step that used it rather than as a wrong
final answer:

* scalar steps against `sympy.diff` of the definition by p, at random points;
* array steps of forward mode (local Jacobians, always in numerator layout:
  one row per entry of uᵢ, one column per entry of p) against central finite
  differences of the definition, with small random sizes;
* backprop steps, which state a vector-Jacobian product ∂J/∂p = G·∂uᵢ/∂p for
  the upstream adjoint G = ∂J/∂uᵢ: with a random G, against central finite
  differences of Σ G ⊙ uᵢ(p) by p (that sum's gradient is exactly the
  product), so a wrong VJP rule is named at its step too.
"""

from __future__ import annotations

import dataclasses
import math

import sympy

from .render.terminal import input_text
from .rulecheck import real_value
from .steps import Partial
from .userfunctions import expand_user_functions

SYMBOLIC_TOLERANCE = 1e-8
NUMERIC_TOLERANCE = 1e-5
STEP = 1e-6
#: above this many perturbed entries, compare directional derivatives (as autograd's check_grads does):
#: the result's check (check.py) and each backprop step
ENTRYWISE_LIMIT = 12


def verify_steps(derivation, rng) -> tuple[int, str | None]:
    """How many `differentiate` steps were verified, and the first that is wrong."""
    definitions = {str(s.lhs): s.rhs for s in derivation.steps if s.kind == "introduce"}
    own_symbols = {str(s.lhs): s.lhs for s in derivation.steps if s.kind == "introduce"}
    verified = 0
    for number, step in enumerate(derivation.steps, start=1):
        if step.kind != "differentiate" or not isinstance(step.lhs, Partial):
            continue
        node = _backprop_node(step) if derivation.rule == "backprop" else step.lhs.numerator
        definition = definitions.get(node)
        if definition is None:
            continue
        if own_symbols[node] in step.rhs.free_symbols:
            # a rule written with the result itself (softmax: diag(s) − s sᵀ): s is its definition here
            step = dataclasses.replace(step, rhs=step.rhs.xreplace({own_symbols[node]: definition}))
        if derivation.rule == "backprop":
            outcome = _backprop_step(step, number, definitions, rng)
        elif _scalar(definition) and _scalar(step.rhs):
            outcome = _scalar_step(step, number, definition, rng)
        else:
            outcome = _array_step(step, number, definition, rng)
        if outcome is None:
            continue  # no point where the step could be judged
        if outcome:
            return verified, outcome
        verified += 1
    return verified, None


def _scalar(expr) -> bool:
    return not any(isinstance(a, sympy.MatrixExpr) or getattr(a, "is_Matrix", False)
                   for a in sympy.preorder_traversal(expr))


def _named(step, number: int) -> str:
    return f"step {number} ({input_text(step.lhs)} = {input_text(step.rhs)}, rule '{step.rule}')"


def _scalar_step(step, number: int, definition, rng) -> str | None:
    """"" when the step agrees with sympy.diff, a failure message, or None if never defined."""
    symbols = {str(s): s for s in definition.free_symbols | step.rhs.free_symbols}
    parameter = symbols.get(step.lhs.denominator)
    if parameter is None:
        return None
    expected = sympy.diff(expand_user_functions(definition), parameter)
    compared = 0
    for _ in range(40):
        point = {s: sympy.Float(_draw(rng)) for s in symbols.values()}
        want, have = real_value(expected, point), real_value(step.rhs, point)
        if want is None or have is None:
            continue
        if abs(want - have) > SYMBOLIC_TOLERANCE * max(1.0, abs(want)):
            at = ", ".join(f"{s} = {float(v):.6g}" for s, v in sorted(point.items(), key=lambda i: str(i[0])))
            return (f"{_named(step, number)} disagrees with sympy.diff of {step.lhs.numerator}'s definition "
                    f"at {at}: expected {want:.10g}, got {have:.10g}")
        compared += 1
        if compared == 3:
            return ""
    return "" if compared else None


def _array_step(step, number: int, definition, rng) -> str | None:
    """A local Jacobian (numerator layout) against finite differences of the definition."""
    import numpy as np

    from .errors import MatcalcError
    from .numeric import evaluate_expression

    symbols = _inputs(definition, step.rhs)
    if step.lhs.denominator not in symbols:
        return None
    dims = _dimensions(symbols, rng)
    symbols.update({dim.name: dim for dim in dims})  # sizes an array of shape m·n cannot tell
    compared = 0
    for _ in range(10):
        values = {name: dims[symbol] if symbol in dims else _sample(symbol, dims, rng)
                  for name, symbol in symbols.items()}
        try:
            expected = _jacobian(definition, values, symbols, step.lhs.denominator)
            got = np.atleast_2d(np.asarray(evaluate_expression(step.rhs, values, symbols), dtype=float))
        except (MatcalcError, ValueError, TypeError, ZeroDivisionError):
            return None
        if expected is None or not np.all(np.isfinite(got)):
            continue
        if got.shape != expected.shape:
            return f"{_named(step, number)} has shape {got.shape}; the definition's Jacobian has {expected.shape}"
        error = float(np.max(np.abs(got - expected) / np.maximum(1.0, np.abs(expected))))
        if error > NUMERIC_TOLERANCE:
            return (f"{_named(step, number)} disagrees with finite differences of {step.lhs.numerator}'s "
                    f"definition (relative error {error:.1e})")
        compared += 1
        if compared == 3:
            return ""
    return "" if compared else None


def _backprop_node(step) -> str | None:
    """The intermediate u whose use the step reverses: the formula reads ∂J/∂u · ∂u/∂p."""
    factors = step.formula.args if isinstance(step.formula, sympy.Mul) else ()
    ours = [f for f in factors if isinstance(f, Partial) and f.denominator == step.lhs.denominator]
    return ours[0].numerator if ours else None


def _backprop_step(step, number: int, definitions: dict, rng) -> str | None:
    """A vector-Jacobian product against finite differences of Σ G ⊙ u(p), G a random upstream adjoint."""
    import numpy as np

    from .errors import MatcalcError
    from .numeric import evaluate_expression, expression_at

    node = _backprop_node(step)
    definition = definitions[node]
    symbols = _inputs(definition, step.rhs)
    name = step.lhs.denominator
    if name not in symbols:
        return None
    upstream = f"d{step.lhs.numerator}/d{node}"
    dims = _dimensions(symbols, rng)
    for dim in (definition.free_symbols | step.rhs.free_symbols) - set(symbols.values()):
        if dim.is_integer and dim.is_positive:  # a dimension used as a number, as in sum(x)/n
            symbols[dim.name] = dim
            dims.setdefault(dim, int(rng.integers(2, 4)))
    symbols.update({dim.name: dim for dim in dims})  # sizes an array of shape m·n cannot tell
    compared = 0
    for _ in range(10):
        values = {n: dims[symbol] if symbol in dims else _sample(symbol, dims, rng) for n, symbol in symbols.items()}
        try:
            with np.errstate(all="ignore"):
                shape = np.shape(evaluate_expression(definition, values, symbols))
            weights = values.get(upstream, _draw(rng, shape) if shape else 1.0)

            definition_at = expression_at(definition, values, symbols, name)
            upstream_weights = np.asarray(weights, dtype=float)

            def loss(vals, definition_at=definition_at, weights=upstream_weights):  # only `name` moves
                out = np.asarray(definition_at(vals[name]), dtype=float)
                return np.sum(weights.reshape(out.shape) * out)

            direction = _draw(rng, np.shape(values[name])) if np.size(values[name]) > ENTRYWISE_LIMIT else None
            expected = _gradient(loss, values, name) if direction is None else _along(loss, values, name, direction)
            got = np.asarray(evaluate_expression(step.rhs, values, symbols), dtype=float)
        except (MatcalcError, ValueError, TypeError, ZeroDivisionError):
            return None
        if expected is None or not np.all(np.isfinite(got)):
            continue
        shape = np.shape(values[name])
        got = got.reshape(shape) if got.size == np.size(values[name]) else got
        if got.shape != shape:
            return f"{_named(step, number)} has shape {got.shape}; {name} has {shape}"
        if direction is not None:
            got = np.sum(got * direction)  # the product applied to the direction, as the difference measures it
        error = float(np.max(np.abs(got - expected) / np.maximum(1.0, np.abs(expected))))
        if error > NUMERIC_TOLERANCE:
            along = "" if direction is None else " along a random direction"
            return (f"{_named(step, number)} disagrees with finite differences of the sum of a random "
                    f"upstream adjoint times {node}'s definition, by {name}{along} (relative error {error:.1e})")
        compared += 1
        if compared == 3:
            return ""
    return "" if compared else None


def _along(loss, values, name, direction):
    """The derivative of loss along `direction` (an array shaped like `name`) by central differences,
    h against 10h as for each entry in `_gradient`; None near a kink or hole.

    Used above ENTRYWISE_LIMIT entries, as the result's check does (and
    autograd's check_grads): four evaluations instead of four per entry, which
    were most of the check of a two-layer network.
    """
    import numpy as np

    start = np.asarray(values[name], dtype=float)
    scale = max(1.0, float(np.max(np.abs(start))))
    quotients = []
    for step in (STEP, 10 * STEP):
        h = step * scale
        sides = [loss({**values, name: start + sign * h * direction}) for sign in (1, -1)]
        if not all(math.isfinite(side) for side in sides):
            return None
        quotients.append((sides[0] - sides[1]) / (2 * h))
    if abs(quotients[0] - quotients[1]) > 1e-4 * max(1.0, abs(quotients[0])):
        return None
    return quotients[0]


def _gradient(loss, values, name):
    """∂loss/∂name by central differences, shaped like the value of `name`; None near a kink or hole."""
    import numpy as np

    start = np.asarray(values[name], dtype=float)
    scale = max(1.0, float(np.max(np.abs(start))))  # once, not per entry: thousands of evaluations per check
    gradient = np.zeros(start.shape)
    for index in range(start.size):
        quotients = []
        for step in (STEP, 10 * STEP):
            h = step * scale
            sides = []
            for sign in (1, -1):
                moved = start.copy()
                moved.flat[index] += sign * h
                sides.append(loss({**values, name: moved if moved.ndim else float(moved)}))
            if not all(math.isfinite(side) for side in sides):
                return None
            quotients.append((sides[0] - sides[1]) / (2 * h))
        if abs(quotients[0] - quotients[1]) > 1e-4 * max(1.0, abs(quotients[0])):
            return None
        gradient.flat[index] = quotients[0]
    return gradient


def _dimensions(symbols: dict, rng) -> dict:
    dims = {}
    for symbol in symbols.values():
        for dim in getattr(symbol, "shape", ()):
            for free in dim.free_symbols:
                dims.setdefault(free, int(rng.integers(2, 4)))
    return dims


def _inputs(*exprs) -> dict:
    """The arrays and scalars an expression reads (not the dimension symbols n, m)."""
    found = {}
    for expr in exprs:
        for e in sympy.preorder_traversal(expr):
            if isinstance(e, sympy.MatrixSymbol) or (
                    isinstance(e, sympy.Symbol) and not (e.is_integer and e.is_positive)):
                found.setdefault(e.name, e)
    return found


def _sample(symbol, dims, rng):
    if not isinstance(symbol, sympy.MatrixExpr):
        return float(_draw(rng))
    rows, cols = (int(d.xreplace(dims)) for d in symbol.shape)
    return _draw(rng, (rows, cols))


def _jacobian(definition, values, symbols, name):
    """Rows: entries of the definition; columns: entries of `name`. None near a kink or hole."""
    import numpy as np

    from .numeric import evaluate_expression

    def output(vals):
        with np.errstate(all="ignore"):
            out = np.asarray(evaluate_expression(definition, vals, symbols), dtype=float)
        return np.ravel(out) if np.all(np.isfinite(out)) else None

    start = np.asarray(values[name], dtype=float)
    columns = []
    for index in range(start.size):
        quotients = []
        for step in (STEP, 10 * STEP):
            h = step * max(1.0, float(np.max(np.abs(start))))
            sides = []
            for sign in (1, -1):
                moved = start.copy()
                moved.flat[index] += sign * h
                sides.append(output({**values, name: moved if moved.ndim else float(moved)}))
            if sides[0] is None or sides[1] is None:
                return None
            quotients.append((sides[0] - sides[1]) / (2 * h))
        if np.any(np.abs(quotients[0] - quotients[1]) > 1e-4 * np.maximum(1.0, np.abs(quotients[0]))):
            return None
        columns.append(quotients[0])
    return np.stack(columns, axis=1)


def _draw(rng, size=None):
    """Values away from 0, where 1/x, log and the usual kinks sit: ±[0.3, 2.5]."""
    magnitude = rng.uniform(0.3, 2.5, size)
    return magnitude * rng.choice([-1.0, 1.0], size)
