"""`check=True` for second derivatives: the Hessian or HVP against second differences of the text.

The witness is the same independent oracle as the first-derivative check
(`reference.Reference`: the user's text computed by NumPy, never the
package's translation), differenced twice:

    ∂²f/∂aᵢ∂aⱼ ≈ (f(a + heᵢ + heⱼ) − f(a + heᵢ − heⱼ) − f(a − heᵢ + heⱼ) + f(a − heᵢ − heⱼ)) / 4h²

and for a Hessian-vector product the same mixed difference along eₖ and the
direction V. Scalar problems are computed with 30-digit mpmath and also
compared with sympy.diff taken twice (sympy.hessian). The gradient of stage
1 is checked as any derivation is (`check.verify`), so a wrong first step is
named where it happens.
"""

from __future__ import annotations

import math

import sympy

from .check import CheckReport, verify
from .errors import MatcalcError

POINTS = 3
#: second differences in float64 lose about eps/h² to rounding and gain h² of truncation: h = 1e-4 balances them
STEP = 1e-4
#: scalar problems: 30 digits, a power-of-two step and points on a 2⁻²⁰ grid, so x ± h ± h is exact in float64
PRECISE_STEP = 2.0 ** -16
GRID = 2.0 ** 20
TOLERANCE = 1e-4
PRECISE_TOLERANCE = 1e-7
#: up to this many entries the Hessian (or HVP) is differenced entry by entry; above it, along random
#: directions u, w: uᵀHw (or uᵀ·HVP) against the mixed difference along u and w, so the cost stays bounded
ENTRY_LIMIT = 16
#: differences with steps h and 2h must agree this well (relative) for a point to be used
SMOOTHNESS = 1e-3
DIRECTIONS = 3


def verify_second(derivation, *, points: int = POINTS, seed: int = 0) -> CheckReport:
    """Check a Hessian or HVP derivation (never raises on a wrong answer)."""
    import numpy as np

    first = verify(derivation.second.stage1, points=points, seed=seed)
    if not first.passed:
        return CheckReport(False, (), 0, math.nan, first.steps_verified, first.steps_total,
                           f"stage 1 (the gradient): {first.failure}")
    rng = np.random.default_rng(seed)
    try:
        compared, count, error, failure = _SecondCheck(derivation, rng).run(points)
    except (MatcalcError, ValueError, TypeError, ZeroDivisionError) as exc:
        compared, count, error, failure = (), 0, math.nan, f"could not evaluate the result numerically ({exc})"
    return CheckReport(failure is None, ("stage-1 gradient", *compared), count, error, first.steps_verified,
                       first.steps_total, failure)


class _SecondCheck:
    def __init__(self, derivation, rng) -> None:
        from .reference import reference_of

        self.d = derivation
        self.rng = rng
        self.reference = reference_of(derivation)
        self.inputs = self.reference.variables()
        self.wrt = list(derivation.wrt)
        self.shapes = {n: self.inputs.get(n, tuple(derivation.declared_shapes.get(n, ()))) for n in self.wrt}
        self.scalar = not any(self.inputs.values()) and not any(self.shapes.values())
        self.dims: dict[str, int] = {}
        for shape in [*self.inputs.values(), *self.shapes.values()]:
            for dim in shape:
                if not dim.isdigit():
                    self.dims.setdefault(dim, int(rng.integers(2, 4)))
        self.step = PRECISE_STEP if self.scalar else STEP
        self.tolerance = PRECISE_TOLERANCE if self.scalar else TOLERANCE

    def _sample(self, shape):
        from .stepcheck import _draw

        positive = getattr(self, "positive", False)
        if not shape:
            value = float(_draw(self.rng))
            value = abs(value) if positive else value
            return round(value * GRID) / GRID if self.scalar else value
        value = _draw(self.rng, tuple(int(d) if d.isdigit() else self.dims[d] for d in shape))
        return abs(value) if positive else value

    def run(self, points: int):
        import numpy as np

        self.projections = None
        compared = ["second differences of the text (NumPy)"]
        if self.scalar:
            compared = ["second differences of the text (30-digit mpmath)", "sympy.diff twice"]
        count, worst = 0, 0.0
        self.positive = False
        for attempt in range(points * 20):
            # no point in half the attempts: draw positive inputs, where log and sqrt of every entry are defined
            self.positive = count == 0 and attempt >= points * 10
            values = {n: self._sample(shape) for n, shape in {**self.inputs, **self.shapes}.items()}
            direction = self.d.second.direction
            if direction is not None:
                positive, self.positive = self.positive, False  # the direction V keeps both signs
                values[direction] = self._sample(self.shapes[self.wrt[0]])
                self.positive = positive
            expected = self._expected(values)
            if expected is None or not self._smooth(values, expected):
                continue
            got = self._projected(np.ravel(np.asarray(self.d.evaluate(values), dtype=float)))
            if got.shape != expected.shape or not np.all(np.isfinite(got)):
                return tuple(compared), count, worst, (f"the result has {got.size} entries but second "
                                                       f"differences give {expected.size}")
            witnesses = [("second differences", expected, self.tolerance)]
            if self.scalar:
                witnesses.append(("sympy.diff twice", self._projected(self._sympy_hessian(values)), self.tolerance))
            for label, want, tolerance in witnesses:
                error = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))
                worst = max(worst, error)
                if error > tolerance:
                    at = ", ".join(f"{n} = {np.round(v, 4).tolist()}" for n, v in values.items())
                    at = at if len(at) <= 400 else at[:396] + " ..."  # a 20×20 matrix is not read in one line
                    return tuple(compared), count, worst, (f"the result disagrees with {label} at {at}: expected "
                                                           f"{np.round(want, 6).tolist()}, got "
                                                           f"{np.round(got, 6).tolist()}")
            count += 1
            if count == points:
                break
        if count == 0:
            return tuple(compared), 0, math.nan, "no point found where the expression is defined and smooth"
        return tuple(compared), count, worst, None

    def _projected(self, got):
        """The result as the witnesses compare it: whole, or uᵀHw (uᵀ·HVP) along the random directions."""
        import numpy as np

        pairs = getattr(self, "projections", None)
        if pairs is None:
            return got
        if self.d.second.direction is not None:
            return np.array([u @ got for u, _ in pairs])
        n = len(pairs[0][0])
        return np.array([u @ got.reshape(n, n) @ w for u, w in pairs])

    # -- the witnesses ---------------------------------------------------------

    def _f(self, values):
        """The text's value (an mpmath number for scalar problems: the differences are taken in 30 digits)."""
        return self.reference(values, precise=self.scalar)

    def _expected(self, values):
        """Second differences at `values`, flattened as the result is; None where the text is not smooth."""
        from .reference import Undefined

        try:
            if self.d.second.direction is not None:
                return self._hvp(values)
            return self._hessian(values)
        except (Undefined, OverflowError, ZeroDivisionError):
            return None
        except (TypeError, ValueError) as exc:
            if "real" in str(exc) or "complex" in str(exc):
                return None
            raise

    def _directions(self) -> list[tuple[str, tuple, int]]:
        """(name, NumPy shape, flat index) for every entry of the wrt variables."""
        entries = []
        for name in self.wrt:
            shape = tuple(int(d) if d.isdigit() else self.dims[d] for d in self.shapes[name])
            size = int(math.prod(shape)) if shape else 1
            entries += [(name, shape, k) for k in range(size)]
        return entries

    def _moved(self, values, moves):
        import numpy as np

        moved = dict(values)
        for (name, shape, k), amount in moves:
            if not shape:
                moved[name] = moved[name] + amount
            else:
                array = np.array(moved[name], dtype=float)
                array.reshape(-1)[k] += amount
                moved[name] = array
        return moved

    def _smooth(self, values, expected) -> bool:
        """Whether differences with step 2h agree with those with h: near a kink of relu, abs or max they do
        not (a second difference straddling it is not a second derivative), and the point is skipped."""
        import numpy as np

        self.scale = 2
        try:
            wider = self._expected(values)
        finally:
            self.scale = 1
        if wider is None:
            return False
        return bool(np.all(np.abs(wider - expected) <= SMOOTHNESS * np.maximum(1.0, np.abs(expected))))

    def _mixed(self, values, a, b) -> float:
        """The mixed second difference along moves a and b (each a function of the signed step)."""
        h = self.step * getattr(self, "scale", 1)
        total = 0
        for sa, sb, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
            total += sign * self._f(b(a(values, sa * h), sb * h))
        return float(total / (4 * h * h))

    def _along(self, values, vector, amount):
        """`values` moved by amount·vector, the vector running over every wrt entry (in `_directions` order)."""
        import numpy as np

        moved, offset = dict(values), 0
        for name, shape, _ in self._directions():
            if moved[name] is values[name]:
                size = int(math.prod(shape)) if shape else 1
                part = vector[offset:offset + size]
                offset += size
                moved[name] = (np.asarray(values[name], dtype=float) + amount * part.reshape(shape)) if shape \
                    else values[name] + amount * float(part[0])
        return moved

    def _random_pairs(self, count: int):
        """Unit directions u, w over every wrt entry, drawn once per check (the same at every point)."""
        import numpy as np

        if not hasattr(self, "_pairs"):
            rng = np.random.default_rng(17)
            self._pairs = [tuple(v / np.linalg.norm(v) for v in rng.normal(size=(2, count))) for _ in range(DIRECTIONS)]
        return self._pairs

    def _hessian(self, values):
        import numpy as np

        entries = self._directions()
        n = len(entries)
        if n > ENTRY_LIMIT:
            self.projections = self._random_pairs(n)
            return np.array([self._mixed(values, lambda v, t, u=u: self._along(v, u, t),
                                         lambda v, t, w=w: self._along(v, w, t)) for u, w in self.projections])
        hessian = np.zeros((n, n))
        for i in range(n):
            for j in range(i, n):
                def along_i(v, t, i=i):
                    return self._moved(v, [(entries[i], t)])

                def along_j(v, t, j=j):
                    return self._moved(v, [(entries[j], t)])

                hessian[i, j] = hessian[j, i] = self._mixed(values, along_i, along_j)
        return hessian.ravel()

    def _hvp(self, values):
        import numpy as np

        direction = self.d.second.direction
        (name,) = self.wrt
        entries = self._directions()

        def along_v(v, t):
            moved = dict(v)
            moved[name] = np.asarray(v[name], dtype=float) + t * np.asarray(values[direction], dtype=float)
            return moved

        inputs = {k: v for k, v in values.items() if k != direction}
        if len(entries) > ENTRY_LIMIT:
            self.projections = [(u, None) for u, _ in self._random_pairs(len(entries))]
            return np.array([self._mixed(inputs, lambda v, t, u=u: self._along(v, u, t), along_v)
                             for u, _ in self.projections])
        return np.array([self._mixed(inputs, lambda v, t, e=e: self._moved(v, [(e, t)]), along_v)
                         for e in entries])

    def _sympy_hessian(self, values):
        """sympy.diff taken twice (sympy.hessian) of the translated expression, at `values`."""
        import numpy as np

        symbols = [self.d.symbols[n] for n in self.wrt]
        expression = self.d.expression
        point = {s: sympy.Float(values[str(s)], 30) for s in expression.free_symbols}
        rows = [[sympy.diff(expression, a, b).xreplace(point).evalf(30) for b in symbols] for a in symbols]
        return np.array([[float(sympy.re(v)) for v in row] for row in rows]).ravel()

