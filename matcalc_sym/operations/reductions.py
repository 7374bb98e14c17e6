"""Reductions: sum and mean of all entries."""

from __future__ import annotations

import sympy

from ..arrays import Elementwise, ReduceSum, is_array, ones_row
from .registry import Operation, register


def _sum(args, arg_shapes, shape, params):
    (arg,) = args
    return ReduceSum(arg) if is_array(arg) else arg


def _mean(args, arg_shapes, shape, params):
    (arg,) = args
    return ReduceSum(arg) / (arg.shape[0] * arg.shape[1]) if is_array(arg) else arg


def _size(array):
    return array.shape[0] * array.shape[1]


def _everywhere(c, scale=1):
    arg = c.arg(0)
    return Elementwise(c.grad * scale, *arg.shape) if is_array(arg) else c.grad


register(Operation(
    "sum", kind="reduction", build=_sum, classes=(ReduceSum,),
    value=lambda np, values, expr: np.sum(values[0]),
    code=lambda codes, expr, np: f"{np('sum')}({codes[0]})",
    explicit=lambda values, expr: sum(values[0]),
    jacobians={"ones-row": lambda c: ones_row(c.operand(0).shape[0])},
    vjps={"grad-everywhere": _everywhere},
))
register(Operation(
    "mean", kind="reduction", build=_mean,
    jacobians={"mean-row": lambda c: sympy.MatMul(1 / _size(c.operand(0)), ones_row(c.operand(0).shape[0]))},
    vjps={"grad-everywhere-mean": lambda c: _everywhere(c, 1 / _size(c.arg(0))) if is_array(c.arg(0)) else c.grad},
))
