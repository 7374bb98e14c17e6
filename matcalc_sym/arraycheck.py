"""Proving a rules file's array function: its derivative formulas against finite differences.

A scalar rule is proven against `sympy.diff` (`rulecheck`); an array
function's VJP and Jacobian are matrix formulas, which are verifiable
numerically. Every formula is computed by the independent reference
evaluator (`reference.Reference`: NumPy on the formula's text, never the
package's translation), at three random sizes of the signature's dimensions
and a random point each:

* the definition must have the shape the signature promises;
* each `vjp.SLOT`, at a random upstream gradient G (and s = the definition's
  value), must equal central differences of Σ G ⊙ definition by that slot,
  which is exactly the vector-Jacobian product;
* each `jacobian.SLOT` must equal the central-difference Jacobian of the
  definition (a row per entry of s, a column per entry of the slot).

Points near a kink or hole (differences with steps h and 10h disagree, or a
value that is not finite) are skipped. A wrong formula is refused with its
counter-example: the sizes, the point, what the differences give and what
the formula gives.
"""

from __future__ import annotations

import math

from .operations.user_arrays import RESULT, SLOTS, UPSTREAM, ArrayFunction, parse_signature

SIZES = 3
STEP = 1e-6
TOLERANCE = 1e-5
SMOOTHNESS = 1e-4
#: random points tried per size before giving up on finding one where everything is defined and smooth
ATTEMPTS = 25


def verify_array_function(recipe: ArrayFunction, *, seed: int = 7) -> str | None:
    """The counter-example to the first wrong formula of `recipe`, or None when every one holds."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for index in range(len(recipe.signatures)):
        failure = _Trial(recipe, index, rng).run()
        if failure is not None:
            return failure
    return None


class _Trial:
    """One signature of a recipe: its formulas as reference programs, checked at `SIZES` random sizes."""

    def __init__(self, recipe: ArrayFunction, index: int, rng) -> None:
        from .reference import Reference

        self.recipe, self.rng = recipe, rng
        self.inputs, self.output = parse_signature(recipe.signatures[index])
        self.slots = SLOTS[:recipe.arity]
        shapes = dict(zip(self.slots, self.inputs))
        self.definition = Reference(recipe.definition, shapes)
        self.vjps = {slot: Reference(text, {**shapes, RESULT: self.output, UPSTREAM: self.output})
                     for slot, text in recipe.vjps}
        self.jacobians = {slot: Reference(text, {**shapes, RESULT: self.output})
                          for slot, text in recipe.jacobians if recipe.applies(f"jacobian.{slot}", index)}

    def run(self) -> str | None:
        letters = sorted({d for part in self.inputs for d in part})
        for _ in range(SIZES):
            sizes = {d: int(self.rng.integers(2, 6)) for d in letters}
            outcome = None
            for _ in range(ATTEMPTS):
                outcome = self._at(sizes)
                if outcome is not None:
                    break
            if outcome is None:
                return (f"no point where the definition {self.recipe.definition!r} and its derivatives are "
                        f"defined and smooth at {_sizes(sizes)}")
            if outcome:
                return outcome
        return None

    def _shape(self, part: tuple[str, ...], sizes: dict) -> tuple[int, ...]:
        return tuple(sizes[d] for d in part)

    def _draw(self, shape: tuple[int, ...]):
        """Values away from 0 (where norms, logs and kinks sit): ±[0.3, 2.5], as the checks draw them."""
        magnitude = self.rng.uniform(0.3, 2.5, shape)
        value = magnitude * self.rng.choice([-1.0, 1.0], shape)
        return value if shape else float(value)

    def _at(self, sizes: dict) -> str | None:
        """"" when every formula agrees at one random point, a counter-example, or None (no usable point)."""
        import numpy as np

        from .reference import ReferenceError, Undefined

        point = {slot: self._draw(self._shape(part, sizes)) for slot, part in zip(self.slots, self.inputs)}
        try:
            value = self.definition(point)
        except Undefined:
            return None
        except ReferenceError as exc:
            return f"definition = {self.recipe.definition!r} cannot be computed at {_sizes(sizes)}: {exc}"
        expected_shape = self._shape(self.output, sizes)
        if np.shape(value) != expected_shape:
            return (f"definition = {self.recipe.definition!r} has shape {np.shape(value)} at {_sizes(sizes)}, "
                    f"but the signature {self.recipe.signature!r} says {expected_shape}")
        upstream = self._draw(expected_shape)
        for slot, formula in self.vjps.items():
            outcome = self._vjp(slot, formula, point, value, upstream, sizes)
            if outcome != "":
                return outcome
        for slot, formula in self.jacobians.items():
            outcome = self._jacobian(slot, formula, point, value, sizes)
            if outcome != "":
                return outcome
        return ""

    def _vjp(self, slot, formula, point, value, upstream, sizes) -> str | None:
        import numpy as np

        field = f"vjp.{slot}"
        got = self._formula(field, formula, {**point, RESULT: value, UPSTREAM: upstream}, sizes)
        if got is None or isinstance(got, str):
            return got
        if np.shape(got) != np.shape(point[slot]):
            return (f"{field} = {formula.source!r} has shape {np.shape(got)} at {_sizes(sizes)}, but {slot} "
                    f"has shape {np.shape(point[slot])}")

        def loss(values):
            return np.asarray(np.sum(np.asarray(upstream) * np.asarray(self.definition(values))), dtype=float)

        expected = self._differences(loss, point, slot)
        if expected is None:
            return None
        expected = expected.reshape(np.shape(point[slot]))
        if _close(got, expected):
            return ""
        at = ", ".join(f"{name} = {_show(v)}" for name, v in {**point, UPSTREAM: upstream}.items())
        return (f"{field} = {formula.source!r} is wrong at {_sizes(sizes)}, {at}: central differences of "
                f"sum(G * {self._call()}) give {_show(expected)}, the formula gives {_show(got)}")

    def _jacobian(self, slot, formula, point, value, sizes) -> str | None:
        import numpy as np

        field = f"jacobian.{slot}"
        got = self._formula(field, formula, {**point, RESULT: value}, sizes)
        if got is None or isinstance(got, str):
            return got
        want = np.shape(value) + np.shape(point[slot])
        if np.shape(got) != want:
            return (f"{field} = {formula.source!r} has shape {np.shape(got)} at {_sizes(sizes)}; the Jacobian "
                    f"of {np.shape(value)} by {np.shape(point[slot])} has {want}")
        expected = self._differences(lambda values: np.asarray(self.definition(values), dtype=float), point, slot)
        if expected is None:
            return None
        expected = expected.reshape(want)
        if _close(got, expected):
            return ""
        at = ", ".join(f"{name} = {_show(v)}" for name, v in point.items())
        return (f"{field} = {formula.source!r} is wrong at {_sizes(sizes)}, {at}: central differences of "
                f"{self._call()} give {_show(expected)}, the formula gives {_show(got)}")

    def _formula(self, field: str, formula, values: dict, sizes: dict):
        """A formula's value; a failure message when it cannot be computed; None where it is undefined."""
        from .reference import ReferenceError, Undefined

        try:
            return formula(values)
        except Undefined:
            return None
        except ReferenceError as exc:
            return f"{field} = {formula.source!r} cannot be computed at {_sizes(sizes)}: {exc}"

    def _differences(self, function, point: dict, slot: str):
        """Central differences of `function` by each entry of `slot` (columns), h against 10h; None near a
        kink or where the definition is undefined."""
        import numpy as np

        from .reference import Undefined

        start = np.asarray(point[slot], dtype=float)
        scale = max(1.0, float(np.max(np.abs(start))))
        columns = []
        for position in range(start.size):
            quotients = []
            for step in (STEP, 10 * STEP):
                sides = []
                for sign in (1, -1):
                    moved = start.copy()
                    moved.flat[position] += sign * step * scale
                    try:
                        sides.append(np.ravel(function({**point, slot: moved if moved.ndim else float(moved)})))
                    except Undefined:
                        return None
                quotients.append((sides[0] - sides[1]) / (2 * step * scale))
            if not np.all(np.isfinite(quotients[0])) or np.any(
                    np.abs(quotients[0] - quotients[1]) > SMOOTHNESS * np.maximum(1.0, np.abs(quotients[0]))):
                return None
            columns.append(quotients[0])
        return np.stack(columns, axis=-1)

    def _call(self) -> str:
        return f"{self.recipe.name}({', '.join(self.slots)})"


def _close(got, expected) -> bool:
    import numpy as np

    got = np.asarray(got, dtype=float)
    return bool(np.all(np.abs(got - expected) <= TOLERANCE * np.maximum(1.0, np.abs(expected))))


def _sizes(sizes: dict) -> str:
    return ", ".join(f"{d} = {size}" for d, size in sizes.items()) or "these sizes"


def _show(value) -> str:
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return f"{float(array):.6g}" if math.isfinite(float(array)) else str(float(array))
    return np.array2string(array, separator=", ", formatter={"float_kind": lambda v: f"{v:.6g}"}).replace("\n", "")
