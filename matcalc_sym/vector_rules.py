"""Local Jacobians of array operations: the `differentiate` stage for vectors.

Which operation gets which Jacobian is data (`[[jacobian]]` in
rules/vector.toml); the forms themselves are the small builders in `FORMS`.
Element-wise operations reuse the scalar table: the partial ∂f/∂u from
rules/scalar.toml applied element by element, on the diagonal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy
from sympy import Identity, OneMatrix

from .arrays import Diag, Elementwise, element_of, is_array, ones_row
from .errors import DeriveError
from .expr import Node
from .local import local_derivatives
from .matfuncs import Norm
from .ruletable import SLOTS, JacobianRule, RuleTable


@dataclass(frozen=True)
class LocalJacobian:
    """∂node/∂parameter as a matrix (or scalar), with the rule that gave it."""

    node: Node
    parameter: Node
    value: sympy.Basic
    rule_id: str
    explanation: str
    diagonal: bool = False


def kind(shape: tuple) -> str:
    return {0: "scalar", 1: "vector", 2: "matrix"}[len(shape)]


def _diagonal(context) -> sympy.Basic:
    rows, cols = context.result_shape
    return Diag(Elementwise(context.scalar_partial, rows, cols))


def _column(context) -> sympy.Basic:
    rows, cols = context.result_shape
    return Elementwise(context.scalar_partial, rows, cols)


def _ones_row(context) -> sympy.Basic:
    return ones_row(context.operand(0).shape[0])


def _mean_row(context) -> sympy.Basic:
    operand = context.operand(0)
    return sympy.MatMul(1 / (operand.shape[0] * operand.shape[1]), ones_row(operand.shape[0]))


def _left_operand(context) -> sympy.Basic:
    return context.operand(0)


def _right_operand_transposed(context) -> sympy.Basic:
    return sympy.Transpose(context.operand(1))


def _identity(context) -> sympy.Basic:
    return Identity(context.operand(0).shape[0])


def _normalized_row(context) -> sympy.Basic:
    x = context.operand(0)
    return sympy.MatMul(1 / Norm(x), sympy.Transpose(x))


def _sign_row(context) -> sympy.Basic:
    x = context.operand(0)
    return sympy.Transpose(Elementwise(sympy.sign(element_of(x)), *x.shape))


FORMS: dict[str, Callable] = {
    "normalized-row": _normalized_row,
    "sign-row": _sign_row,
    "diagonal": _diagonal,
    "column": _column,
    "ones-row": _ones_row,
    "mean-row": _mean_row,
    "left-operand": _left_operand,
    "right-operand-transposed": _right_operand_transposed,
    "identity": _identity,
}


@dataclass
class _Context:
    node: Node
    parameter: Node
    symbol_of: dict
    result_shape: tuple
    scalar_partial: sympy.Basic | None = None

    def operand(self, index: int):
        return self.symbol_of[self.node.args[index]]


def local_jacobians(node: Node, depends: set[Node], symbol_of: dict, table: RuleTable) -> list[LocalJacobian]:
    """∂node/∂p for each distinct argument p of `node` that depends on the variable."""
    if not node.shape and all(not a.shape for a in node.args) and node.op != "vector":
        return [LocalJacobian(node, d.parameter, d.value, d.rule.id, d.rule.explain)
                for d in local_derivatives(node, depends, symbol_of, table)]
    results = []
    for parameter in dict.fromkeys(a for a in node.args if a in depends):
        results.append(_jacobian(node, parameter, depends, symbol_of, table))
    return results


def _jacobian(node: Node, parameter: Node, depends: set[Node], symbol_of: dict, table: RuleTable) -> LocalJacobian:
    value = symbol_of[node]
    rows_cols = tuple(value.shape) if is_array(value) else (1, 1)
    context = _Context(node, parameter, symbol_of, rows_cols)
    spec = table.function(node.op)
    elementwise = node.op in ("add", "sub", "mul", "div", "pow", "neg", "where") or (
        spec is not None and spec.kind == "elementwise" and spec.definition is None)
    if elementwise and node.shape:
        match = "broadcast" if not parameter.shape else "elementwise"
        if parameter.shape and parameter.shape != node.shape:
            raise DeriveError(f"the Jacobian of a broadcast of shape {parameter.shape} into {node.shape} "
                              "needs reverse mode (not implemented yet)")
        scalar = _elementwise_partial(node, parameter, depends, symbol_of, table)
        context.scalar_partial = scalar.value
        rule = _find(table, match, node, parameter)
    else:
        rule = _find(table, node.op, node, parameter)
    built = FORMS[rule.form](context)
    scalar_rule = ""
    if context.scalar_partial is not None:
        scalar_rule = f" ({scalar.rule.id} rule element by element)"
    return LocalJacobian(node, parameter, built, rule.id, rule.explain + scalar_rule, rule.form == "diagonal")


def _find(table: RuleTable, match: str, node: Node, parameter: Node) -> JacobianRule:
    operand_kinds = tuple(kind(a.shape) for a in node.args)
    slot = SLOTS[node.args.index(parameter)]
    for rule in table.jacobians:
        if rule.match != match:
            continue
        if rule.operands is not None and tuple(rule.operands) != operand_kinds:
            continue
        if rule.slot is not None and rule.slot != slot:
            continue
        return rule
    shapes = ", ".join(str(a.shape) for a in node.args)
    raise DeriveError(f"no Jacobian rule for '{node.op}' on operands of shapes {shapes} by its argument "
                      f"{slot} (a generalized Jacobian: reverse mode is not implemented yet)")


def _element_bindings(node: Node, symbol_of: dict) -> dict[Node, sympy.Basic]:
    return {a: (element_of(symbol_of[a]) if is_array(symbol_of[a]) else symbol_of[a]) for a in node.args}


def _elementwise_partial(node, parameter, depends, symbol_of, table):
    """The scalar partial ∂f/∂p from scalar.toml (and its rule), over the elements of the operands."""
    elements = _element_bindings(node, symbol_of)
    (local,) = [d for d in local_derivatives(node, depends, elements, table) if d.parameter is parameter]
    return local


__all__ = ["FORMS", "LocalJacobian", "OneMatrix", "local_jacobians"]
