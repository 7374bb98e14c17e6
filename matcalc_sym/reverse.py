"""Reverse accumulation (backprop): adjoints from the output back to the inputs.

Each intermediate u gets an adjoint ∂J/∂u shaped like u. Walking the DAG
from the output, every use of an operand a by u contributes a
vector-Jacobian product (the `differentiate` steps); an operand used in
several places sums its contributions (the `combine` steps: the
total-derivative rule seen backwards). No Jacobian of a matrix by a matrix is
ever formed: each local rule maps an adjoint to an adjoint directly.

Written out, the gradient of every weight of an L-layer network repeats the
whole chain of adjoints after it, so the answers grow as L² (and every stage
after them, simplify above all: backprop grew 4.5× per doubling of layers).
An adjoint that flows into several terms (of several gradients, or of one
gradient, as a weight shared by every layer) and whose written-out form is
long is therefore kept as its name ∂J/∂u in them, with its definition in
terms of the adjoints after it, as backprop computes it
(`ReverseDerivation.adjoints`; `Derivation.expanded()` writes them out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from .adjoint import adjoint
from .arrays import element_of, flatten_elements, is_array
from .expr import Node
from .graph import IntermediateGraph, differentiable_depends, make_symbol
from .operations import operation
from .reverse_rules import Contribution, contributions
from .simplify import tree_size
from .steps import Partial, Step

FLOAT32_BYTES = 4
#: tree nodes above which a shared adjoint, written out, is kept as its name (see the module docstring);
#: a two-layer network's adjoints stay below it, so its answers read as before
NAMED_ADJOINT_SIZE = 60


@dataclass
class ReverseDerivation:
    steps: list[Step] = field(default_factory=list)
    gradients: dict[str, sympy.Basic] = field(default_factory=dict)
    loss: str = "J"
    upstream: sympy.Basic | None = None
    #: named adjoints kept in the gradients: symbol → its definition (in terms of earlier ones), in order
    adjoints: dict[sympy.Basic, sympy.Basic] = field(default_factory=dict)


class Reverse:
    """Backprop over an intermediate-variable graph, for several variables at once."""

    def __init__(self, graph: IntermediateGraph) -> None:
        self.graph = graph
        self.symbol_of = graph.symbol_of

    def name(self, node: Node) -> str:
        return str(self.symbol_of[node])

    def derive(self, names: list[str]) -> ReverseDerivation:
        graph = self.graph
        out = ReverseDerivation()
        output = graph.output
        scalar_output = not is_array(self.symbol_of[output])
        out.loss = self.name(output) if scalar_output else "J"
        sources = {n.value: n for n in graph.order if n.op == "var" and n.value in names}
        depends = self._depends(set(sources.values()))
        adjoint_symbol = {node: adjoint(out.loss, self.name(node), self.symbol_of[node]) for node in graph.order}
        if scalar_output:
            adjoint_symbol[output] = sympy.Integer(1)
        else:
            out.upstream = adjoint_symbol[output]
        incoming: dict[Node, list[Contribution]] = {}
        value: dict[Node, sympy.Basic] = {output: adjoint_symbol[output]}
        written_out: dict[Node, sympy.Basic] = {output: adjoint_symbol[output]}  # no names kept: to measure
        shared = self._shared(sources, depends)
        differentiate: list[Step] = []
        combine: list[Step] = []
        if not scalar_output:
            combine.extend(self._generalized_jacobian_steps(output, sources, names))
        for node in reversed(graph.order):
            if node not in depends or node.is_leaf:
                continue
            if node is not output:
                if node not in incoming:
                    continue
                combine.append(self._combine(node, incoming[node], out.loss, adjoint_symbol))
                value[node] = self._value(incoming[node], value, adjoint_symbol)
                written_out[node] = self._value(incoming[node], written_out, adjoint_symbol)
                if node in shared and tree_size(written_out[node], NAMED_ADJOINT_SIZE) > NAMED_ADJOINT_SIZE:
                    out.adjoints[adjoint_symbol[node]] = value[node]
                    value[node] = adjoint_symbol[node]
            for contribution in contributions(node, adjoint_symbol[node], depends, self.symbol_of, graph.table):
                incoming.setdefault(contribution.operand, []).append(contribution)
                differentiate.append(self._differentiate(contribution, out.loss))
        for name in names:
            source = sources.get(name)
            if source is None or source not in incoming:
                like = graph.variables.get(name)
                if like is None:  # not in the expression at all: shaped as declared
                    like = make_symbol(name, graph.program.declared.get(name, ()))
                out.gradients[name] = sympy.ZeroMatrix(*like.shape) if is_array(like) else sympy.Integer(0)
                continue
            combine.append(self._combine(source, incoming[source], out.loss, adjoint_symbol))
            value[source] = self._value(incoming[source], value, adjoint_symbol)
            out.gradients[name] = self._readable_names(value[source])
        out.adjoints = {symbol: self._readable_names(definition) for symbol, definition in out.adjoints.items()}
        out.steps = differentiate + combine
        for symbol, definition in out.adjoints.items():
            out.steps.append(Step("substitute", Partial(out.loss, symbol.name.partition("/d")[2], True), definition,
                                  "substitute", "an adjoint several gradients share, kept as its name in them: "
                                  "each written out would repeat the chain after it"))
        for name in names:
            out.steps.append(Step("substitute", Partial(out.loss, name, True), out.gradients[name], "substitute",
                                  "put in each adjoint, and each unnamed intermediate variable's definition",
                                  wrt=name))
        return out

    # -- pieces ---------------------------------------------------------------

    def _shared(self, sources: dict, depends: set[Node]) -> set[Node]:
        """Forks on the way back: nodes with two or more operands that lead to requested variables.

        Their adjoint flows into several terms, of one gradient (a weight used by every layer) or of
        several; a node with one such operand only passes the chain on (h in u = W·h), so naming it too
        would add a name and save nothing."""
        reach: dict[Node, frozenset] = {}
        for node in self.graph.order:
            if node not in depends:
                continue
            own = frozenset((node.value,)) if node.op == "var" and node.value in sources else frozenset()
            reach[node] = own.union(*(reach.get(a, frozenset()) for a in node.args))
        return {node for node, names in reach.items() if sum(1 for a in node.args if a in reach) > 1}

    def _depends(self, sources: set[Node]) -> set[Node]:
        return differentiable_depends(self.graph.order, sources)

    def _differentiate(self, contribution: Contribution, loss: str) -> Step:
        node, operand = contribution.node, contribution.operand
        formula = sympy.Mul(Partial(loss, self.name(node), True), Partial(self.name(node), self.name(operand), True))
        explanation = contribution.rule.explain
        declared = operation(node.op)
        detail = declared.detail(node) if declared is not None and declared.detail is not None else ""
        if detail:
            explanation += f"; {detail}"
        if contribution.scalar_rule:
            explanation += f" ({contribution.scalar_rule} rule element by element)"
        if contribution.summed_axes:
            explanation += f"; {self.name(operand)} was broadcast, so the adjoint is summed over {contribution.summed_axes}"
        return Step("differentiate", Partial(loss, self.name(operand), True), contribution.value,
                    contribution.rule.id, explanation, formula=formula,
                    shapes={"adjoint": _size(self.symbol_of[operand])})

    def _combine(self, node: Node, incoming: list[Contribution], loss: str, adjoint_symbol) -> Step:
        total = sympy.Add(*[c.value for c in incoming]) if not any(is_array(c.value) for c in incoming) \
            else sympy.MatAdd(*[c.value for c in incoming]) if len(incoming) > 1 else incoming[0].value
        users = ", ".join(self.name(c.node) for c in incoming)
        if len(incoming) > 1:
            rule = "adjoint-sum"
            why = (f"{self.name(node)} is used by {len(incoming)} operations ({users}): its adjoint is the sum "
                   "of their contributions, the total-derivative rule seen backwards")
        else:
            rule = "adjoint"
            why = f"{self.name(node)} is used once (by {users})"
        return Step("combine", Partial(loss, self.name(node), True), total, rule, why,
                    shapes={"adjoint": _size(self.symbol_of[node])})

    def _value(self, incoming: list[Contribution], value, adjoint_symbol) -> sympy.Basic:
        from . import algebra

        total = None
        for c in incoming:
            part = c.value.xreplace({adjoint_symbol[c.node]: value[c.node]})
            total = part if total is None else algebra.add(total, part)
        return total

    def _readable_names(self, expr: sympy.Basic) -> sympy.Basic:
        """Write f(u) as the named result it is (1 − tanh(Zo)² → 1 − Ao²), then expand unnamed u's."""
        folds, anonymous = self._name_maps()
        expr = flatten_elements(expr)
        expr = expr.xreplace(folds)
        return flatten_elements(expr.xreplace(anonymous))

    def _name_maps(self) -> tuple[dict, dict]:
        """The folds to named results and the definitions of unnamed intermediates, made once per
        derivation: every gradient and named adjoint is read through them (made per call, they were
        quadratic in a network's depth)."""
        if getattr(self, "_maps", None) is None:
            folds = {}
            for item in self.graph.intermediates:
                if item.user_named and item.node.op not in ("vector",):
                    pattern = element_of(item.definition) if is_array(item.definition) else item.definition
                    folds[pattern] = element_of(item.symbol) if is_array(item.symbol) else item.symbol
            anonymous = {}
            for item in self.graph.intermediates:
                if not item.user_named:
                    anonymous[item.symbol] = item.definition.xreplace(anonymous)
            self._maps = ({k: v for k, v in folds.items() if not isinstance(k, sympy.Symbol)}, anonymous)
        return self._maps

    def _generalized_jacobian_steps(self, output: Node, sources: dict, names: list[str]) -> list[Step]:
        steps = []
        out_symbol = self.symbol_of[output]
        for name in names:
            source = sources.get(name)
            if source is None:
                continue
            wrt_symbol = self.symbol_of[source]
            shape = f"({_size(out_symbol)})×({_size(wrt_symbol)})"
            entries = _entries(out_symbol) * _entries(wrt_symbol)
            why = (f"∂{self.name(output)}/∂{name} is a generalized Jacobian of shape {shape}, "
                   f"{_describe(entries)}; backprop never forms it: it takes the upstream gradient ∂J/∂"
                   f"{self.name(output)} (shaped like {self.name(output)}) and maps it back through each local "
                   "rule, so every intermediate result is only as large as a variable")
            steps.append(Step("combine", Partial("J", name, True),
                              sympy.Mul(Partial("J", self.name(output), True), Partial(self.name(output), name, True)),
                              "vector-jacobian-product", why, shapes={"generalized_jacobian": shape}))
        return steps


def _size(value) -> str:
    if not is_array(value):
        return "1"
    rows, cols = value.shape
    return f"{rows}×{cols}"


def _entries(value):
    return value.shape[0] * value.shape[1] if is_array(value) else sympy.Integer(1)


def _describe(entries) -> str:
    """Entries and float32 bytes, in numbers when the dimensions are numbers."""
    if entries.is_Integer:
        size = int(entries) * FLOAT32_BYTES
        units = [("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)]
        human = next((f"{size / scale:g} {unit}" for unit, scale in units if size >= scale), f"{size} bytes")
        return f"{int(entries):,} entries ({human} as float32)"
    return f"{entries} entries ({FLOAT32_BYTES}·{entries} bytes as float32)"
