"""From graph nodes to SymPy expressions: one builder per operator, as a table."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy

from .arrays import Diag, Elementwise, element_of, is_array
from .broadcasting import broadcast_to
from .errors import DeriveError
from .functions import resolve
from .operations import operation
from .ruletable import RuleTable

#: operators that are array operations whatever their operands (the declared operations are too)
ARRAY_OPERATORS = frozenset({"matmul", "transpose"})


def _is_array_operation(op: str) -> bool:
    declared = operation(op)
    return op in ARRAY_OPERATORS or (declared is not None and declared.build is not None)


COMPARISONS: dict[str, Callable] = {
    "gt": sympy.StrictGreaterThan,
    "ge": sympy.GreaterThan,
    "lt": sympy.StrictLessThan,
    "le": sympy.LessThan,
}


def _where(cond, a, b, evaluate=True):
    return sympy.Piecewise((a, cond), (b, True), evaluate=evaluate)


def _add(a, b, evaluate=True):
    return sympy.Add(a, b, evaluate=evaluate)


def _sub(a, b, evaluate=True):
    return sympy.Add(a, sympy.Mul(-1, b, evaluate=evaluate), evaluate=evaluate)


def _mul(a, b, evaluate=True):
    return sympy.Mul(a, b, evaluate=evaluate)


def _div(a, b, evaluate=True):
    return sympy.Mul(a, sympy.Pow(b, -1, evaluate=evaluate), evaluate=evaluate)


def _pow(a, b, evaluate=True):
    return sympy.Pow(a, b, evaluate=evaluate)


def _neg(a, evaluate=True):
    return sympy.Mul(-1, a, evaluate=evaluate)


OPERATOR_BUILDERS: dict[str, Callable] = {
    "add": _add,
    "sub": _sub,
    "mul": _mul,
    "div": _div,
    "pow": _pow,
    "neg": _neg,
    "where": _where,
}


def build(op: str, args: Sequence[sympy.Expr], table: RuleTable, *, evaluate: bool = True,
          shape: tuple = (), arg_shapes: Sequence[tuple] | None = None, params: tuple = ()) -> sympy.Expr:
    """The SymPy expression of `op` applied to `args`; `shape` is the result's (NumPy) shape.

    `arg_shapes` are the operands' NumPy shapes, which array operands need:
    a 1-D vector and an n×1 column are stored alike but broadcast differently.
    `evaluate=False` keeps the shape the user wrote (x·x stays x·x), which is
    what an `introduce` step must show.
    """
    if shape or _is_array_operation(op) or any(is_array(a) for a in args):
        if arg_shapes is None:
            if any(is_array(a) for a in args):
                raise DeriveError(f"internal: '{op}' of arrays needs the operands' NumPy shapes")
            arg_shapes = [()] * len(args)
        return build_array(op, args, table, shape, tuple(tuple(s) for s in arg_shapes), evaluate=evaluate,
                           params=params)
    if op in OPERATOR_BUILDERS:
        return OPERATOR_BUILDERS[op](*args, evaluate=evaluate)
    if op in COMPARISONS:
        return COMPARISONS[op](*args, evaluate=evaluate)
    if op == "vector":
        return sympy.ImmutableMatrix(len(args), 1, list(args))
    spec = table.function(op)
    if spec is None or (spec.sympy_name is None and spec.function is None):
        raise KeyError(op)
    function = spec.function or resolve(spec.sympy_name)
    if spec.sympy_name == "Piecewise":
        return _where(*args, evaluate=evaluate)
    return function(*args, evaluate=evaluate)


def matrix_shape(shape: tuple) -> tuple:
    """NumPy shape → SymPy matrix shape: a 1-D array of n is an n×1 column, as in the paper."""
    if len(shape) == 1:
        return (shape[0], sympy.Integer(1))
    return tuple(shape)


def build_array(op: str, args: Sequence[sympy.Basic], table: RuleTable, shape: tuple, arg_shapes: tuple,
                *, evaluate: bool = True, params: tuple = ()) -> sympy.Basic:
    """Array operations: a declared operation builds itself (`matcalc_sym.operations`), element-wise
    ones become `Elementwise`, and the operators `@` and `.T` matrix algebra."""
    declared = operation(op, table)
    if declared is not None and declared.build is not None:
        return declared.build(list(args), arg_shapes, shape, dict(params))
    if op == "transpose":
        (arg,) = args
        if len(shape) < 2:
            return arg  # NumPy: .T of a scalar or a 1-D array is itself
        return sympy.Transpose(arg)
    if op == "matmul":
        left, right = args
        if len(arg_shapes[0]) == 1 and len(arg_shapes[1]) == 2:  # 1-D @ 2-D: (wᵀX)ᵀ, stored as a column
            return sympy.Transpose(sympy.MatMul(sympy.Transpose(left), right))
        return sympy.MatMul(left, right)
    if op == "vector":
        return sympy.ImmutableMatrix(len(args), 1, list(args))
    rows, cols = matrix_shape(shape)
    args = [broadcast_to(a, s, shape) if is_array(a) else a for a, s in zip(args, arg_shapes)]
    elements = [element_of(a) if is_array(a) else a for a in args]
    body = build(op, elements, table, evaluate=evaluate)
    return Elementwise(body, rows, cols)


__all__ = ["Diag", "build", "build_array", "matrix_shape"]
