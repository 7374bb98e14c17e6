"""Local Jacobians of array operations: the `differentiate` stage for vectors.

Which operation gets which Jacobian is data (`[[jacobian]]` in
rules/vector.toml); the forms themselves are declared with each operation in
`matcalc_sym.operations`, and `find_rule` is the matcher reverse mode uses too.
Element-wise operations reuse the scalar table: the partial ∂f/∂u from
rules/scalar.toml applied element by element, on the diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .arrays import element_of, is_array
from .errors import DeriveError
from .expr import Node
from .local import local_derivatives
from .operations import find_rule, form
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
    built = form(rule, "forward")(context)
    scalar_rule = ""
    if context.scalar_partial is not None:
        scalar_rule = f" ({scalar.rule.id} rule element by element)"
    return LocalJacobian(node, parameter, built, rule.id, rule.explain + scalar_rule, rule.form == "diagonal")


def _find(table: RuleTable, match: str, node: Node, parameter: Node) -> JacobianRule:
    operand_kinds = tuple(kind(a.shape) for a in node.args)
    rule = find_rule(table.jacobians, match, operand_kinds, SLOTS[node.args.index(parameter)])
    if rule is None:
        shapes = ", ".join(str(a.shape) for a in node.args)
        raise DeriveError(f"no Jacobian rule for '{node.op}' on operands of shapes {shapes} by its argument "
                          f"{SLOTS[node.args.index(parameter)]} (a generalized Jacobian: use mode='reverse')")
    return rule


def _element_bindings(node: Node, symbol_of: dict) -> dict[Node, sympy.Basic]:
    return {a: (element_of(symbol_of[a]) if is_array(symbol_of[a]) else symbol_of[a]) for a in node.args}


def _elementwise_partial(node, parameter, depends, symbol_of, table):
    """The scalar partial ∂f/∂p from scalar.toml (and its rule), over the elements of the operands."""
    elements = _element_bindings(node, symbol_of)
    (local,) = [d for d in local_derivatives(node, depends, elements, table) if d.parameter is parameter]
    return local


__all__ = ["LocalJacobian", "local_jacobians"]
