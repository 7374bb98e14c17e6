"""From graph nodes to SymPy expressions: one builder per operator, as a table."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy

from .functions import resolve
from .ruletable import RuleTable

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


def build(op: str, args: Sequence[sympy.Expr], table: RuleTable, *, evaluate: bool = True) -> sympy.Expr:
    """The SymPy expression of `op` applied to `args`.

    `evaluate=False` keeps the shape the user wrote (x·x stays x·x), which is
    what an `introduce` step must show.
    """
    if op in OPERATOR_BUILDERS:
        return OPERATOR_BUILDERS[op](*args, evaluate=evaluate)
    if op in COMPARISONS:
        return COMPARISONS[op](*args, evaluate=evaluate)
    if op == "vector":
        return sympy.ImmutableMatrix(len(args), 1, list(args))
    spec = table.function(op)
    if spec is None or spec.sympy_name is None:
        raise KeyError(op)
    function = resolve(spec.sympy_name)
    if spec.sympy_name == "Piecewise":
        return _where(*args, evaluate=evaluate)
    return function(*args, evaluate=evaluate)
