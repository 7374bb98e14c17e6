"""Derivations that check themselves (`derive(..., check=True)`, `--check`).

Two independent witnesses for the result, from the `Derivation` alone:

* central finite differences of the original expression at several seeded
  random points, for every problem (scalar, vector, matrix, backprop); arrays
  get small random sizes. A point is used only where the expression is
  smooth and defined: the expression and the result must be finite and real
  there, and a difference quotient with step h must agree with one with step
  10h (they disagree near a kink of relu/abs/max/where, whatever its
  argument), so no comparison straddles a breakpoint or a hole;
* `sympy.diff` of the expression, for scalar problems, compared at the same
  points (deciding symbolic equality can take SymPy unbounded time).

And one witness per `differentiate` step (see `stepcheck`), so a wrong rule
is named at the step where it was used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy

from .errors import MatcalcError
from .rulecheck import real_value
from .stepcheck import ENTRYWISE_LIMIT, SYMBOLIC_TOLERANCE, _draw, verify_steps
from .userfunctions import expand_user_functions

POINTS = 5
STEP = 1e-6
FD_TOLERANCE = 1e-5
SMOOTHNESS = 1e-4
PRECISION = 30
#: sympy.diff is a second witness only for expressions within these bounds (it recurses, and slows, with size)
SYMBOLIC_DEPTH = 120
SYMBOLIC_NODES = 4000


@dataclass(frozen=True)
class CheckReport:
    """What a check compared, at how many points, and the largest relative error.

    Relative error is |got − expected| / max(1, |expected|), entry by entry.
    """

    passed: bool
    compared: tuple[str, ...]
    points: int
    max_error: float
    steps_verified: int
    steps_total: int
    failure: str | None = None

    def line(self) -> str:
        """The one `check` line the command line prints last."""
        if not self.passed:
            return f"check FAILED: {self.failure}"
        against = ", ".join(self.compared)
        return (f"check passed: {against}, {self.points} points, max rel. error {self.max_error:.1e}, "
                f"{self.steps_verified}/{self.steps_total} steps checked")

    def to_dict(self) -> dict:
        return {"passed": self.passed, "compared": list(self.compared), "points": self.points,
                "max_error": None if math.isnan(self.max_error) else self.max_error,
                "steps_verified": self.steps_verified,
                "steps_total": self.steps_total, "failure": self.failure}


def verify(derivation, *, points: int = POINTS, seed: int = 0) -> CheckReport:
    """Check `derivation` (its steps, then its result); never raises on a wrong answer."""
    import numpy as np

    rng = np.random.default_rng(seed)
    steps = [s for s in derivation.steps if s.kind == "differentiate"]
    verified, failure = verify_steps(derivation, rng)
    if failure is not None:
        return CheckReport(False, (), 0, math.nan, verified, len(steps), failure)
    try:
        compared, count, error, failure = _ResultCheck(derivation, rng).run(points)
    except (MatcalcError, ValueError, TypeError, ZeroDivisionError) as exc:
        compared, count, error, failure = (), 0, math.nan, f"could not evaluate the result numerically ({exc})"
    return CheckReport(failure is None, compared, count, error, verified, len(steps), failure)


# -- the result --------------------------------------------------------------


class _ResultCheck:
    """Finite differences of the *text* (and sympy.diff for scalar problems) against `derivation.result`.

    The function differentiated numerically is `reference.Reference`: the
    user's text computed by NumPy as NumPy reads it, never the package's own
    translation, so a translation that changes the meaning of the input
    fails here instead of being checked against itself.
    """

    def __init__(self, derivation, rng) -> None:
        from .adjoint import AdjointMatrix, AdjointScalar
        from .reference import reference_of

        self.d = derivation
        self.rng = rng
        self.reference = reference_of(derivation)
        self.inputs = self.reference.variables()
        self.upstream = next((n for n, s in derivation.symbols.items()  # a named adjoint is defined, not given
                              if isinstance(s, (AdjointMatrix, AdjointScalar)) and n not in derivation.definitions),
                             None)
        self.wrt_shapes = {n: self.inputs.get(n, tuple(derivation.declared_shapes.get(n, ())))
                           for n in derivation.wrt}
        self.dims = self._sizes()
        self.noise = 0.0
        #: inputs drawn positive only, once signed draws found no point (log(X) of a 3×3 X needs 9 positive entries)
        self.positive = False
        self.backprop = derivation.rule == "backprop"
        self.scalar = not self.backprop and not any(self.inputs.values()) and not any(self.wrt_shapes.values())
        self.precise = self.scalar
        #: sympy.diff recurses on the tree, and a long unevaluated sum is as deep as it is long
        self.symbolic = self.scalar and _shallow(derivation.expression, SYMBOLIC_DEPTH, SYMBOLIC_NODES)
        entries = sum(_entries(self.wrt_shapes[n], self.dims) for n in derivation.wrt)
        self.directional = entries > ENTRYWISE_LIMIT

    def _sizes(self) -> dict[str, int]:
        dims: dict[str, int] = {}
        for shape in [*self.inputs.values(), *self.wrt_shapes.values()]:
            for dim in shape:
                if not dim.isdigit():
                    dims.setdefault(dim, int(self.rng.integers(2, 4)))
        return dims

    def _sample(self, shape: tuple[str, ...]):
        if not shape:
            value = float(_draw(self.rng))
            return abs(value) if self.positive else value
        value = _draw(self.rng, tuple(int(d) if d.isdigit() else self.dims[d] for d in shape))
        return abs(value) if self.positive else value

    def run(self, points: int):
        compared = ("sympy.diff", "finite differences") if self.symbolic else ("finite differences",)
        if self.directional:
            compared = ("directional finite differences",)
        if self.symbolic:
            self.sympy_reference = self._sympy_reference()
        count, worst = 0, 0.0
        for attempt in range(points * 20):
            if count == 0 and attempt and attempt % 10 == 0:
                # no point yet at these sizes: some sizes make the text undefined everywhere (XXᵀ of a tall X
                # is singular, so log det(XXᵀ) has no value), so draw the symbolic sizes again; past half the
                # attempts, draw positive inputs (where log and sqrt of every entry are defined)
                self.dims = self._sizes()
                self.positive = attempt >= points * 10
            values = {n: self._sample(shape) for n, shape in {**self.inputs, **self.wrt_shapes}.items()}
            if self.upstream is not None:
                shape = self._output_shape(values)
                if shape is None:
                    continue
                values[self.upstream] = _draw(self.rng, shape) if shape else float(_draw(self.rng))
            outcome = self._at(values)
            if outcome is None:
                continue
            errors, failure = outcome
            if failure is not None:
                return compared, count, max([worst, *errors]), failure
            worst = max([worst, *errors])
            count += 1
            if count == points:
                break
        if count == 0:
            return compared, 0, math.nan, "no point found where the expression is defined and smooth"
        return compared, count, worst, None

    def _output_shape(self, values):
        import numpy as np

        from .reference import Undefined

        try:
            return np.shape(self.reference(values))
        except Undefined:
            return None

    def _at(self, values):
        """Errors at one point and a failure message; None when the point is unusable."""
        import numpy as np

        self.noise = 0.0
        if self.directional:
            return self._along_direction(values)
        expected = self._finite_differences(values)
        if expected is None or not self._precise_enough(expected):
            return None
        got = self._got(values)
        if got is None or any(not np.all(np.isfinite(g)) for g in got):
            return None
        witnesses = [("central differences", expected, FD_TOLERANCE + self._relative_noise(expected))]
        if self.symbolic:
            reference = self._evaluate_reference(values)
            if reference is None:
                return None
            witnesses.insert(0, ("sympy.diff", reference, SYMBOLIC_TOLERANCE))
        errors = []
        for label, want, tolerance in witnesses:
            for g, w in zip(got, want):
                if g.shape != w.shape:
                    return [], f"the result has shape {g.shape} but {label} give {w.shape}"
                error = float(np.max(np.abs(g - w) / np.maximum(1.0, np.abs(w)))) if w.size else 0.0
                errors.append(error)
                if error > tolerance:
                    at = ", ".join(f"{n} = {_show(v)}" for n, v in values.items() if n in self.inputs)
                    return errors, (f"the result disagrees with {label} at {at}: expected {_show(w)}, "
                                    f"got {_show(g)} (relative error {error:.1e})")
        return errors, None

    # -- the three numbers at a point --

    def _got(self, values) -> list | None:
        import numpy as np

        value = self.d.evaluate(values)
        if isinstance(value, dict):
            arrays = [np.atleast_2d(np.asarray(value[n], dtype=complex)) for n in self.d.wrt]
        else:
            arrays = [np.atleast_2d(np.asarray(value, dtype=complex))]
        if any(np.any(np.abs(a.imag) > 1e-12) for a in arrays):
            return None  # not real here (SymPy's principal branch where NumPy's is real)
        return [a.real for a in arrays]

    def _precise_enough(self, expected) -> bool:
        """False where rounding alone could move a difference quotient by 0.1% (huge values)."""
        return self._relative_noise(expected) <= 1e-3

    def _relative_noise(self, expected) -> float:
        import numpy as np

        scale = max([1.0, *(float(np.max(np.abs(e))) for e in expected if e.size)])
        return self.noise / scale

    def _output(self, values):
        """The output at `values`, flat (the loss J = Σ upstream ⊙ output in backprop); None unless finite and real.

        Scalar problems are computed with 30 digits, so the difference
        quotients of x + e^20 lose nothing to rounding; arrays use NumPy.
        """
        import numpy as np

        from .reference import ReferenceError, Undefined

        try:
            out = self.reference(values, precise=self.precise)
        except Undefined:
            return None
        except ReferenceError:
            if not self.precise:
                raise
            self.precise = False  # a function NumPy has but the 30-digit arithmetic lacks
            return self._output(values)
        out = np.asarray(out, dtype=object if self.precise else float)
        if self.upstream is not None:
            upstream = np.asarray(values[self.upstream], dtype=float).reshape(out.shape)
            out = np.sum(upstream * out)
        return np.atleast_1d(np.ravel(out))

    def _finite_differences(self, values) -> list | None:
        """One 2-D array per result: the Jacobian or gradient as the result lays it out."""
        import numpy as np

        blocks = []
        for name in self.d.wrt:
            jacobian = self._jacobian(values, name)
            if jacobian is None:
                return None
            blocks.append(jacobian)
        if not self.backprop:
            full = np.hstack(blocks)
            return [full.T if self.d.layout == "denominator" else full]
        return [self._as_laid_out(block.reshape(np.shape(values[name])), name)
                for name, block in zip(self.d.wrt, blocks)]

    def _as_laid_out(self, gradient, name):
        """A gradient shaped like its variable, as the result writes it: a vector is a column (n×1),
        and numerator layout transposes every array."""
        import numpy as np

        shape = np.shape(gradient)
        matrix = np.reshape(gradient, (1, 1) if not shape else (shape[0], 1) if len(shape) == 1 else shape)
        return matrix.T if self.d.layout == "numerator" and shape else matrix

    def _jacobian(self, values, name):
        """d output / d name by central differences, rows = outputs, columns = entries of name."""
        import numpy as np

        with np.errstate(all="ignore"):
            base = self._output(values)
            if base is None:
                return None
            start = np.asarray(values[name], dtype=float)
            if name not in self.inputs:
                return np.zeros((base.size, start.size))
            columns = []
            for index in range(start.size):
                direction = np.zeros(start.shape)
                direction.flat[index] = 1.0
                narrow = self._smooth_difference(values, {name: direction})
                if narrow is None:
                    return None
                columns.append(narrow)
        return np.stack(columns, axis=1)

    def _smooth_difference(self, values, direction):
        """Central difference along `direction`; None at a hole, or near a kink (h and 10h disagree)."""
        import numpy as np

        narrow = self._difference(values, direction, STEP)
        wide = self._difference(values, direction, 10 * STEP) if narrow is not None else None
        if wide is None or np.any(np.abs(narrow - wide) > SMOOTHNESS * np.maximum(1.0, np.abs(narrow)) + self.noise):
            return None  # a kink, a jump or fast oscillation within 10h: no point to judge a derivative at
        return narrow

    def _difference(self, values, direction, step):
        import numpy as np

        scale = max([1.0, *(float(np.max(np.abs(values[n]))) for n in direction)])
        h = step * scale
        results = []
        for sign in (1, -1):
            moved = dict(values)
            for name, d in direction.items():
                shifted = np.asarray(values[name], dtype=float) + sign * h * d
                moved[name] = shifted if shifted.ndim else float(shifted)
            out = self._output(moved)
            if out is None:
                return None
            results.append(out)
        magnitude = max(float(np.max(np.abs(r.astype(float)))) if r.size else 0.0 for r in results)
        rounding = 1e-28 if self.precise else 2.3e-16
        self.noise = max(self.noise, 10 * rounding * magnitude / h)
        return ((results[0] - results[1]) / (2 * h)).astype(float)

    def _along_direction(self, values):
        """Big arrays: the result applied to a random direction against one difference quotient."""
        import numpy as np

        with np.errstate(all="ignore"):
            base = self._output(values)
            if base is None:
                return None
            direction = {n: np.asarray(_draw(self.rng, np.shape(values[n])), dtype=float)
                         for n in self.d.wrt if n in self.inputs}
            expected = self._smooth_difference(values, direction)
        if expected is None or not self._precise_enough([expected]):
            return None
        got = self._got(values)
        if got is None or any(not np.all(np.isfinite(g)) for g in got):
            return None
        predicted, failure = self._apply(got, direction, base.size, values)
        if failure is not None:
            return [], failure
        error = float(np.max(np.abs(predicted - expected) / np.maximum(1.0, np.abs(expected))))
        if error > FD_TOLERANCE + self._relative_noise([expected]):
            at = ", ".join(f"{n} = {_show(v)}" for n, v in values.items() if n in self.inputs)
            return [error], (f"the result disagrees with central differences along a random direction at {at}: "
                             f"expected {_show(expected)}, got {_show(predicted)} (relative error {error:.1e})")
        return [error], None

    def _apply(self, got, direction, outputs, values):
        """The result (as laid out) times the direction: J·v, or Σ ⟨∂J/∂W, V⟩ in backprop."""
        import numpy as np

        if not self.backprop:
            jacobian = got[0].T if self.d.layout == "denominator" else got[0]
            vector = np.concatenate([np.ravel(direction[n]) if n in direction else np.zeros(np.size(values[n]))
                                     for n in self.d.wrt])
            if jacobian.shape != (outputs, vector.size):
                return None, f"the result has shape {jacobian.shape}, expected {(outputs, vector.size)}"
            return jacobian @ vector, None
        total = np.zeros(1)
        for name, gradient in zip(self.d.wrt, got):
            if name not in direction:
                continue
            laid_out = self._as_laid_out(direction[name], name)
            if gradient.shape != laid_out.shape:
                return None, f"the gradient by {name} has shape {gradient.shape}, expected {laid_out.shape}"
            total = total + np.sum(gradient * laid_out)
        return total, None

    # -- sympy.diff, scalar problems only --

    def _sympy_reference(self):
        expression = expand_user_functions(self.d.expression)
        outputs = list(expression) if isinstance(expression, sympy.MatrixBase) else [expression]
        symbols = {n: self.d.symbols.get(n, sympy.Symbol(n, real=True)) for n in self.d.wrt}
        return sympy.Matrix([[sympy.diff(f, symbols[n]) for n in self.d.wrt] for f in outputs])

    def _evaluate_reference(self, values):
        import numpy as np

        point = {s: sympy.Float(values[n]) for n, s in self.d.symbols.items() if n in values}
        entries = [real_value(entry, point) for entry in self.sympy_reference]
        if any(e is None for e in entries):
            return None
        matrix = np.array(entries, dtype=float).reshape(self.sympy_reference.shape)
        return [matrix.T if self.d.layout == "denominator" else matrix]


def _shallow(expr, depth: int, nodes: int) -> bool:
    """At most `depth` levels and `nodes` nodes, found with a bounded walk (no recursion)."""
    stack, seen = [(expr, 1)], 0
    while stack:
        node, level = stack.pop()
        seen += 1
        if level > depth or seen > nodes:
            return False
        stack.extend((arg, level + 1) for arg in getattr(node, "args", ()))
    return True


def _entries(shape: tuple[str, ...], dims: dict[str, int]) -> int:
    return math.prod(int(d) if d.isdigit() else dims[d] for d in shape)


def _show(value) -> str:
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.size == 1:
        return f"{float(array.ravel()[0]):.10g}"
    return np.array2string(array, precision=6, separator=", ").replace("\n", "")
