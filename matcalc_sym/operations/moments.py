"""var(z) and std(z): NumPy's np.var and np.std, with axis=, ddof= (default 0) and keepdims=.

Over each group (every entry, or each row/column along the axis) of N
entries with mean z̄: var = Σ (z − z̄)² / (N − ddof) and std = √var. Their
vector-Jacobian products are the ones a textbook writes, and never form a
Jacobian:

    ∂J/∂z = 2(z − z̄)/(N − ddof) ⊙ G          (G broadcast back along the reduced axis)
    ∂J/∂z = (z − z̄)/((N − ddof)·σ) ⊙ G       (σ = std(z): the var rule divided by 2σ)

z̄ depends on z too, but its part of the derivative is −2/(N(N − ddof))·Σ (z − z̄),
and the deviations from the mean sum to 0. std is not differentiable where
a group is constant (σ = 0).
"""

from __future__ import annotations

import sympy

from ..arrays import Elementwise, element_of, is_array
from ..errors import ShapeError
from .reductions import (
    at_every_entry,
    axis_length,
    group_size,
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

KEYWORDS = {"axis": None, "ddof": 0, "keepdims": False}


def _shape(name: str):
    def shape(arg_shapes, params):
        result = reduced_shape(arg_shapes[0], params, name)
        ddof = params.get("ddof", 0)
        if type(ddof) is not int:
            raise ShapeError(f"{name}(): ddof= takes a whole number")
        size = axis_length(arg_shapes[0], params, name)
        if size.is_Integer and size - ddof <= 0:
            raise ShapeError(f"{name}(): ddof={ddof} leaves no degrees of freedom: each value combines "
                             f"{size} entr{'y' if size == 1 else 'ies'}")
        return result
    return shape


def _build(name: str):
    def build(args, arg_shapes, shape, params):
        (arg,), (arg_shape,) = args, arg_shapes
        if not is_array(arg):
            return sympy.Integer(0)  # one number does not vary
        return stored_reduction(name, arg, arg_shape, params, of_ones=0, ddof=params.get("ddof", 0))
    return build


def _variance(entries: list, ddof: int) -> sympy.Expr:
    mean = sum(entries) / len(entries)
    return sum((e - mean) ** 2 for e in entries) / (len(entries) - ddof)


def _centered(c, z) -> sympy.Expr:
    """z − z̄ at every entry (an element-wise body), z̄ the mean of the entry's group."""
    total = group_total(z, c.node.args[0].shape, params_of(c), c.node.op)
    mean = (element_of(total) if is_array(total) else total) / group_size(c)
    return element_of(z) - mean


def _dof(c):
    return group_size(c) - params_of(c).get("ddof", 0)


def _var_vjp(c):
    """∂J/∂z = 2(z − z̄)/(N − ddof) ⊙ G."""
    z = c.arg(0)
    return Elementwise(2 * _centered(c, z) * at_every_entry(c, c.grad) / _dof(c), *z.shape)


def _std_vjp(c):
    """∂J/∂z = (z − z̄)/((N − ddof)·σ) ⊙ G."""
    z = c.arg(0)
    sigma = at_every_entry(c, c.symbol_of[c.node])
    return Elementwise(_centered(c, z) * at_every_entry(c, c.grad) / (_dof(c) * sigma), *z.shape)


def _var_jacobian(c):
    """∂var/∂z = 2(z − z̄)ᵀ/(n − ddof), a row (z a vector)."""
    z = c.operand(0)
    return sympy.MatMul(2 / _dof(c), sympy.Transpose(Elementwise(_centered(c, z), *z.shape)))


def _std_jacobian(c):
    """∂std/∂z = (z − z̄)ᵀ/((n − ddof)·σ), a row (z a vector)."""
    z = c.operand(0)
    return sympy.MatMul(1 / (_dof(c) * scalar_result(c)), sympy.Transpose(Elementwise(_centered(c, z), *z.shape)))


def _declare(name: str, spelled: str, combine, jacobian, vjp) -> None:
    """`spelled` is NumPy's name, which the input language and the printed call use; `name` the operation's,
    which differs for var because "var" is the graph's own name for a variable."""
    register(Operation(
        name, kind="reduction", keywords=KEYWORDS, build=_build(name), shape=_shape(spelled),
        detail=reduction_axis_words,
        aliases=(spelled,) if spelled != name else (), shown_as=spelled if spelled != name else None,
        value=lambda np, values, expr: stored_value(getattr(np, spelled), values, expr, ddof=expr.params["ddof"]),
        code=lambda codes, expr, np: stored_code(spelled, codes, expr, np, f", ddof={expr.params['ddof']!r}"),
        explicit=lambda values, expr: stored_explicit(lambda entries: combine(entries, expr.params["ddof"]),
                                                      values, expr),
        jacobians={f"{spelled}-row": jacobian},
        vjps={f"grad-{spelled}": vjp},
    ))


_declare("variance", "var", _variance, _var_jacobian, _var_vjp)
_declare("std", "std", lambda entries, ddof: sympy.sqrt(_variance(entries, ddof)), _std_jacobian, _std_vjp)
