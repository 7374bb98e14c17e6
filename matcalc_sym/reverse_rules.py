"""Vector-Jacobian products: one local rule of reverse mode per operation.

Which operation gets which VJP is data (`[[vjp]]` in rules/matrix.toml); the
forms are declared with each operation in `matcalc_sym.operations`, found by
the same matcher forward mode uses. Element-wise operations take their
partials from rules/scalar.toml, as forward mode does, and the adjoint of
NumPy broadcasting is a sum over the broadcast axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .arrays import Elementwise, element_of, is_array
from .broadcasting import broadcast_to, unbroadcast
from .errors import DeriveError
from .expr import Node
from .local import local_derivatives
from .operations import find_rule, form
from .ruletable import SLOTS, JacobianRule, RuleTable


@dataclass(frozen=True)
class Contribution:
    """The part of ∂J/∂operand that flows back through one use of it."""

    node: Node
    operand: Node
    value: sympy.Basic
    rule: JacobianRule
    scalar_rule: str = ""
    summed_axes: str = ""


@dataclass
class _Context:
    node: Node
    operand: Node
    symbol_of: dict
    grad: sympy.Basic
    table: RuleTable
    depends: set

    def arg(self, index: int):
        return self.symbol_of[self.node.args[index]]


def _elementwise(context: _Context):
    node, operand = context.node, context.operand
    out = context.symbol_of[node]
    if is_array(out):
        elements = {a: element_of(broadcast_to(context.symbol_of[a], a.shape, node.shape))
                    if is_array(context.symbol_of[a]) else context.symbol_of[a] for a in node.args}
    else:
        elements = {a: context.symbol_of[a] for a in node.args}
    (local,) = [d for d in local_derivatives(node, context.depends, elements, context.table)
                if d.parameter is operand]
    if is_array(out):
        full = Elementwise(element_of(context.grad) * local.value, *out.shape)
    else:
        full = context.grad * local.value
    value, axes = unbroadcast(full, operand.shape, node.shape)
    return value, local.rule.id, axes


ELEMENTWISE_OPS = frozenset({"add", "sub", "mul", "div", "pow", "neg", "where"})


def contributions(node: Node, grad, depends: set, symbol_of: dict, table: RuleTable) -> list[Contribution]:
    """One contribution per distinct operand of `node` that depends on a variable."""
    found = []
    for operand in dict.fromkeys(a for a in node.args if a in depends):
        context = _Context(node, operand, symbol_of, grad, table, depends)
        spec = table.function(node.op)
        elementwise = node.op in ELEMENTWISE_OPS or (spec is not None and spec.kind == "elementwise"
                                                      and spec.definition is None)
        if elementwise:
            rule = _find(table, "elementwise", node, operand)
            value, scalar_rule, axes = _elementwise(context)
            found.append(Contribution(node, operand, value, rule, scalar_rule, axes))
        else:
            slots = [i for i, a in enumerate(node.args) if a is operand]
            rules = [_find(table, node.op, node, operand, slot) for slot in slots]
            values = [form(rule, "reverse")(context) for rule in rules]
            value = values[0] if len(values) == 1 else sympy.MatAdd(*values)
            found.append(Contribution(node, operand, value, rules[0]))
    return found


def _kind(shape: tuple) -> str:
    return {0: "scalar", 1: "vector", 2: "matrix"}[len(shape)]


def _find(table: RuleTable, match: str, node: Node, operand: Node, index: int | None = None) -> JacobianRule:
    kinds = tuple(_kind(a.shape) for a in node.args)
    slot = SLOTS[node.args.index(operand) if index is None else index]
    rule = find_rule(table.vjps, match, kinds, slot)
    if rule is None:
        raise DeriveError(f"no reverse-mode rule for '{node.op}' on operands {', '.join(kinds)}")
    return rule
