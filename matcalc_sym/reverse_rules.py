"""Vector-Jacobian products: one local rule of reverse mode per operation.

Which operation gets which VJP is data (`[[vjp]]` in rules/matrix.toml); the
forms are the builders in `FORMS`. Element-wise operations take their
partials from rules/scalar.toml, as forward mode does, and the adjoint of
NumPy broadcasting is a sum over the broadcast axis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy

from .arrays import Diag, Elementwise, element_of, is_array
from .broadcasting import broadcast_to, unbroadcast
from .errors import DeriveError
from .expr import Node
from .local import local_derivatives
from .matfuncs import DiagPart, Norm
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


def _matmul_forms():
    def grad_times_right_transposed(c):
        return sympy.MatMul(c.grad, sympy.Transpose(c.arg(1)))

    def left_transposed_times_grad(c):
        return sympy.MatMul(sympy.Transpose(c.arg(0)), c.grad)

    def right_times_grad(c):
        return sympy.MatMul(c.arg(1), c.grad)

    def left_times_grad_transposed(c):
        return sympy.MatMul(c.arg(0), sympy.Transpose(c.grad))

    return {
        "grad-times-right-transposed": grad_times_right_transposed,
        "left-transposed-times-grad": left_transposed_times_grad,
        "right-times-grad": right_times_grad,
        "left-times-grad-transposed": left_times_grad_transposed,
    }


def _grad_everywhere(c):
    arg = c.arg(0)
    return Elementwise(c.grad, *arg.shape) if is_array(arg) else c.grad


def _grad_everywhere_mean(c):
    arg = c.arg(0)
    if not is_array(arg):
        return c.grad
    return Elementwise(c.grad / (arg.shape[0] * arg.shape[1]), *arg.shape)


def _matrix_function_forms():
    def inverse_transpose(a):
        return sympy.Transpose(sympy.Inverse(a))

    return {
        "grad-identity": lambda c: sympy.MatMul(c.grad, sympy.Identity(c.arg(0).shape[0])),
        "grad-det-inverse-transpose": lambda c: sympy.MatMul(c.grad * sympy.Determinant(c.arg(0)),
                                                             inverse_transpose(c.arg(0))),
        "grad-inverse-transpose": lambda c: sympy.MatMul(c.grad, inverse_transpose(c.arg(0))),
        "minus-inverse-transpose-sandwich": lambda c: sympy.MatMul(
            -1, inverse_transpose(c.arg(0)), c.grad, inverse_transpose(c.arg(0))),
        "grad-over-norm": lambda c: sympy.MatMul(c.grad / Norm(c.arg(0)), c.arg(0)),
        "grad-sign": lambda c: Elementwise(element_of(c.grad) * sympy.sign(element_of(c.arg(0))),
                                           *c.arg(0).shape),
        "diagonal-of-grad": lambda c: DiagPart(c.grad),
        "diag-of-grad": lambda c: Diag(c.grad),
        "grad-times-right": lambda c: sympy.MatMul(c.grad, c.arg(1)),
        "grad-transposed-times-left": lambda c: sympy.MatMul(sympy.Transpose(c.grad), c.arg(0)),
    }


FORMS: dict[str, Callable] = {
    **_matmul_forms(),
    **_matrix_function_forms(),
    "grad-transposed": lambda c: sympy.Transpose(c.grad),
    "grad": lambda c: c.grad,
    "grad-everywhere": _grad_everywhere,
    "grad-everywhere-mean": _grad_everywhere_mean,
}
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
            values = [FORMS[rule.form](context) for rule in rules]
            value = values[0] if len(values) == 1 else sympy.MatAdd(*values)
            found.append(Contribution(node, operand, value, rules[0]))
    return found


def _kind(shape: tuple) -> str:
    return {0: "scalar", 1: "vector", 2: "matrix"}[len(shape)]


def _find(table: RuleTable, match: str, node: Node, operand: Node, index: int | None = None) -> JacobianRule:
    kinds = tuple(_kind(a.shape) for a in node.args)
    slot = SLOTS[node.args.index(operand) if index is None else index]
    for rule in table.vjps:
        if rule.match == match and (rule.operands is None or tuple(rule.operands) == kinds) \
                and (rule.slot is None or rule.slot == slot):
            return rule
    raise DeriveError(f"no reverse-mode rule for '{node.op}' on operands {', '.join(kinds)}")
