"""max(z) and min(z) with one argument: NumPy's np.max and np.min, of all entries or along an axis.

Arity decides, as in NumPy's spelling: `max(a, b)` is the element-wise
maximum (np.maximum, rules/scalar.toml; `max(0, z)` is the ReLU), and the
parser sends a one-argument `max(z)` here, because its `[functions]` entry
names this reduction. They are declared as `amax`/`amin` (NumPy's own names
for the reductions) and print as `max(Z, axis=1)`.

The derivative is the subgradient that sends the upstream gradient to the
entries that reach the maximum, 𝟙[z ≥ m] (m the result, broadcast back over
the entries it was taken of). max is not differentiable where two entries
tie; there the gradient is shared equally among the tied entries (divided
by their count Σ 𝟙[z ≥ m]), as autograd, JAX and PyTorch do, which keeps it
a subgradient (a convex combination of the tied entries' unit vectors).
Finite differences agree away from ties, which random points never hit.
"""

from __future__ import annotations

import sympy

from ..arrays import Elementwise, ReduceSum, element_of, is_array
from .reductions import (
    AXIS,
    at_every_entry,
    group_total,
    params_of,
    reduced_shape,
    reduction_axis_words,
    scalar_result,
    stored_code,
    stored_explicit,
    stored_reduction,
    stored_value,
)
from .registry import Operation, register


def _build(name: str):
    def build(args, arg_shapes, shape, params):
        (arg,), (arg_shape,) = args, arg_shapes
        if not is_array(arg):
            return arg  # np.max of one number is that number
        return stored_reduction(name, arg, arg_shape, params, of_ones=1)
    return build


def _reaches(compare):
    """The mask of the entries that reach the extremum m: 𝟙[z ≥ m] (max) or 𝟙[z ≤ m] (min), element-wise."""
    def mask(entry, extremum):
        # unevaluated, so it reads z ≥ m as written (SymPy would reorder it to m ≤ z)
        return sympy.Piecewise((1, compare(entry, extremum)), (0, True), evaluate=False)
    return mask


def _share(c, operand, mask, grad):
    """The upstream gradient on the arg-extremum entries, shared equally among ties: 𝟙[z ≥ m] ⊙ G / Σ 𝟙[z ≥ m]."""
    entry = element_of(operand)
    hits = mask(entry, at_every_entry(c, c.symbol_of[c.node]))
    count = group_total(Elementwise(hits, *operand.shape), c.node.args[0].shape, params_of(c), c.node.op)
    count = element_of(count) if is_array(count) else count
    return Elementwise(hits * grad / count, *operand.shape)


def _vjp(mask):
    def vjp(c):
        """∂J/∂z = 𝟙[z reaches m] ⊙ G (broadcast back along the axis) / the number of entries that reach it."""
        return _share(c, c.arg(0), mask, at_every_entry(c, c.grad))
    return vjp


def _jacobian(mask):
    def jacobian(c):
        """∂m/∂z for a vector z: the row (𝟙[z reaches m] / Σ 𝟙[z reaches m])ᵀ, a unit row away from ties."""
        z = c.operand(0)
        hits = mask(element_of(z), scalar_result(c))
        return sympy.Transpose(Elementwise(hits / ReduceSum(Elementwise(hits, *z.shape)), *z.shape))
    return jacobian


def _declare(name: str, shown: str, function: str, combine, compare, form: str) -> None:
    mask = _reaches(compare)
    register(Operation(
        name, kind="reduction", keywords=AXIS, shown_as=shown, build=_build(name),
        detail=reduction_axis_words,
        shape=lambda arg_shapes, params: reduced_shape(arg_shapes[0], params, shown),
        value=lambda np, values, expr: stored_value(getattr(np, function), values, expr),
        code=lambda codes, expr, np: stored_code(function, codes, expr, np),
        explicit=lambda values, expr: stored_explicit(lambda entries: combine(*entries), values, expr),
        jacobians={f"{form}-row": _jacobian(mask)},
        vjps={f"grad-to-{form}": _vjp(mask)},
    ))


_declare("amax", "max", "max", sympy.Max, lambda entry, m: entry >= m, "argmax")
_declare("amin", "min", "min", sympy.Min, lambda entry, m: entry <= m, "argmin")
