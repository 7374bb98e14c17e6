"""Local derivatives: the partial of one intermediate by each of its parameters.

This is the `differentiate` stage. It only looks rules up in the table and
instantiates their templates; which slots depend on the variable decides the
rule (x·c is the constant-multiple rule, x·sin x the product rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .expr import Node
from .ruletable import SLOTS, Rule, RuleTable
from .symbolic import build

_DUMMIES = tuple(sympy.Symbol(f"_{slot}", real=True) for slot in SLOTS)


@dataclass(frozen=True)
class LocalDerivative:
    """∂node/∂parameter, with the rule that gave it."""

    node: Node
    parameter: Node
    value: sympy.Basic
    rule: Rule
    slots: tuple[str, ...]


def local_derivatives(
    node: Node, depends: set[Node], symbol_of: dict[Node, sympy.Basic], table: RuleTable
) -> list[LocalDerivative]:
    """The partials of `node` by each distinct argument that depends on the variable."""
    if node.op == "identity":
        return [LocalDerivative(node, node.args[0], sympy.Integer(1), _IDENTITY, ("u",))]
    slots = SLOTS[: len(node.args)]
    dependent = frozenset(s for s, a in zip(slots, node.args) if a in depends)
    constants = {s: a.value for s, a in zip(slots, node.args) if a.is_const}
    rule = table.find(node.op, len(node.args), dependent, constants)
    bindings = {s: symbol_of[a] for s, a in zip(slots, node.args)}
    results: list[LocalDerivative] = []
    for parameter in dict.fromkeys(a for a in node.args if a in depends):
        used = tuple(s for s, a in zip(slots, node.args) if a is parameter)
        value = sum((_partial(rule, node, s, bindings, table) for s in used), sympy.Integer(0))
        results.append(LocalDerivative(node, parameter, value, rule, used))
    return results


def _partial(rule: Rule, node: Node, slot: str, bindings: dict, table: RuleTable) -> sympy.Basic:
    if not rule.generic:
        return rule.partial(slot, bindings)
    index = SLOTS.index(slot)
    dummies = _DUMMIES[: len(node.args)]
    applied = build(node.op, list(dummies), table)
    derivative = sympy.diff(applied, dummies[index])
    return derivative.xreplace({d: bindings[s] for d, s in zip(dummies, SLOTS)})


_IDENTITY = Rule(id="identity", op="identity", partials={"u": "1"},
                 explain="the output is the variable itself", source="definition of the derivative")

