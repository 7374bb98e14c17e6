"""prod(z): NumPy's np.prod, of all entries or along an axis (axis=, keepdims=).

Each entry's partial derivative is the product of the other entries of its
group, written p/z (p the result, broadcast back along the axis):
∂J/∂z = p/z ⊙ G, autograd's form. It holds where no entry is 0; at a zero
entry p/z is 0/0 (the product of the others is what it should be there), so
this rule is stated for z ≠ 0, which random points never violate.
"""

from __future__ import annotations

import sympy

from ..arrays import Elementwise, element_of, is_array
from .reductions import (
    AXIS,
    at_every_entry,
    reduced_shape,
    reduction_axis_words,
    scalar_result,
    stored_code,
    stored_explicit,
    stored_reduction,
    stored_value,
)
from .registry import Operation, register


def _build(args, arg_shapes, shape, params):
    (arg,), (arg_shape,) = args, arg_shapes
    if not is_array(arg):
        return arg  # the product of one number is that number
    return stored_reduction("prod", arg, arg_shape, params, of_ones=1)


def _vjp(c):
    """∂J/∂z = p/z ⊙ G (z ≠ 0)."""
    z = c.arg(0)
    product = at_every_entry(c, c.symbol_of[c.node])
    return Elementwise(product * at_every_entry(c, c.grad) / element_of(z), *z.shape)


def _jacobian(c):
    """∂p/∂z = (p/z)ᵀ, a row (z a vector, z ≠ 0)."""
    z = c.operand(0)
    return sympy.Transpose(Elementwise(scalar_result(c) / element_of(z), *z.shape))


register(Operation(
    "prod", kind="reduction", keywords=AXIS, build=_build,
    detail=reduction_axis_words,
    shape=lambda arg_shapes, params: reduced_shape(arg_shapes[0], params, "prod"),
    value=lambda np, values, expr: stored_value(np.prod, values, expr),
    code=lambda codes, expr, np: stored_code("prod", codes, expr, np),
    explicit=lambda values, expr: stored_explicit(lambda entries: sympy.Mul(*entries), values, expr),
    jacobians={"product-over-entry-row": _jacobian},
    vjps={"grad-product-over-entry": _vjp},
))
