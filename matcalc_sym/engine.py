"""Forward accumulation for scalar variables: differentiate, combine, substitute.

For each variable x the engine walks the intermediates innermost first. Every
intermediate u gets its local partials ∂u/∂p from the rules (a `differentiate`
step each) and its total derivative du/dx = Σ_p ∂u/∂p · dp/dx. When x reaches
an output along one path, the `combine` step is the single-variable chain rule
(a product along the path); along several, each intermediate with more than one
parameter depending on x gets a total-derivative `combine` step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from .expr import Node
from .graph import IntermediateGraph
from .local import LocalDerivative, local_derivatives
from .steps import Partial, Step


@dataclass
class VariableDerivation:
    """Everything derived for one variable: steps and each output's derivative."""

    wrt: str
    steps: list[Step] = field(default_factory=list)
    results: list[sympy.Basic] = field(default_factory=list)
    paths: list[int] = field(default_factory=list)


def components(graph: IntermediateGraph) -> list[Node]:
    """The scalar outputs: the entries of a bracketed list, or the output itself."""
    out = graph.output
    return list(out.args) if out.op == "vector" else [out]


def count_paths(graph: IntermediateGraph, source: Node) -> dict[Node, int]:
    """Number of dataflow paths from `source` to every node (edges counted per slot)."""
    paths: dict[Node, int] = {}
    for node in graph.order:
        paths[node] = 1 if node is source else sum(paths.get(a, 0) for a in node.args)
    return paths


class ScalarForward:
    """The four steps of Parr & Howard for one scalar variable at a time."""

    def __init__(self, graph: IntermediateGraph) -> None:
        self.graph = graph
        self.partial_notation = len(graph.variables) > 1
        self.substitution = graph.substitution()

    def name(self, node: Node) -> str:
        return str(self.graph.symbol_of[node])

    def total(self, node: Node, wrt: str) -> Partial:
        return Partial(self.name(node), wrt, self.partial_notation)

    def derive(self, wrt: str) -> VariableDerivation:
        graph = self.graph
        out = VariableDerivation(wrt)
        source = next((n for n in graph.order if n.op == "var" and n.value == wrt), None)
        targets = components(graph)
        if source is None:
            return self._independent(out, targets)
        depends = self._depends(source)
        paths = count_paths(graph, source)
        locals_of = self._differentiate(out, depends)
        totals = self._accumulate(source, depends, locals_of)
        emitted: set[Node] = set()
        for target in targets:
            out.paths.append(paths.get(target, 0))
            if target in depends and not target.is_leaf:
                if paths[target] == 1:
                    self._combine_single(out, source, target, locals_of, totals)
                else:
                    self._combine_total(out, source, target, depends, locals_of, totals, emitted)
            value = totals.get(target, sympy.Integer(0))
            substituted = value.xreplace(self.substitution)
            if target in depends and not target.is_leaf:
                out.steps.append(Step(
                    "substitute", self.total(target, wrt), substituted, "substitute",
                    "replace each intermediate variable by its definition", wrt=wrt))
            out.results.append(substituted)
        return out

    # -- stages ---------------------------------------------------------------

    def _depends(self, source: Node) -> set[Node]:
        depends: set[Node] = set()
        for node in self.graph.order:
            if node is source or any(a in depends for a in node.args):
                depends.add(node)
        return depends

    def _differentiate(self, out: VariableDerivation, depends: set[Node]) -> dict[Node, list[LocalDerivative]]:
        graph = self.graph
        locals_of: dict[Node, list[LocalDerivative]] = {}
        for item in graph.intermediates:
            node = item.node
            if node not in depends or node.op == "vector":
                continue
            found = local_derivatives(node, depends, graph.symbol_of, graph.table)
            locals_of[node] = found
            several = sum(1 for a in dict.fromkeys(node.args) if not a.is_const) > 1
            for local in found:
                explanation = local.rule.explain
                if len(local.slots) > 1:
                    explanation += f"; {self.name(local.parameter)} fills {len(local.slots)} slots, so their partials add"
                out.steps.append(Step(
                    "differentiate", Partial(self.name(node), self.name(local.parameter), several or self.partial_notation),
                    local.value, local.rule.id, explanation, wrt=out.wrt))
        return locals_of

    def _accumulate(self, source, depends, locals_of) -> dict[Node, sympy.Basic]:
        totals: dict[Node, sympy.Basic] = {source: sympy.Integer(1)}
        for node in self.graph.order:
            if node in locals_of:
                totals[node] = sympy.Add(*[loc.value * totals[loc.parameter] for loc in locals_of[node]])
        return totals

    def _combine_single(self, out, source, target, locals_of, totals) -> None:
        factors: list[Partial] = []
        node = target
        while node is not source:
            (local,) = locals_of[node]
            several = sum(1 for a in dict.fromkeys(node.args) if not a.is_const) > 1
            factors.append(Partial(self.name(node), self.name(local.parameter), several or self.partial_notation))
            node = local.parameter
        formula = sympy.Mul(*factors)
        why = (f"{out.wrt} reaches {self.name(target)} along one path, so the single-variable chain rule "
               f"multiplies the {len(factors)} local derivative(s) along it")
        out.steps.append(Step("combine", self.total(target, out.wrt), totals[target],
                              "single-variable chain rule", why, formula=formula, wrt=out.wrt))

    def _combine_total(self, out, source, target, depends, locals_of, totals, emitted) -> None:
        ancestors = _ancestors(target) & depends
        for node in self.graph.order:
            if node not in ancestors or node not in locals_of or node in emitted:
                continue
            emitted.add(node)
            found = locals_of[node]
            if len(found) == 1 and found[0].parameter is source:
                continue
            terms = []
            several = sum(1 for a in dict.fromkeys(node.args) if not a.is_const) > 1
            for local in sorted(found, key=lambda loc: loc.parameter is not source):
                factor = Partial(self.name(node), self.name(local.parameter), several or self.partial_notation)
                if local.parameter is source:
                    terms.append(factor)
                else:
                    terms.append(sympy.Mul(factor, self.total(local.parameter, out.wrt)))
            params = ", ".join(self.name(loc.parameter) for loc in found)
            if len(found) > 1:
                why = (f"{self.name(node)} has {len(found)} parameters that depend on {out.wrt} ({params}): "
                       "the total-derivative chain rule adds their contributions")
            else:
                why = f"{self.name(node)} depends on {out.wrt} only through {params}: multiply along it"
            out.steps.append(Step("combine", self.total(node, out.wrt), totals[node],
                                  "total-derivative chain rule", why, formula=sympy.Add(*terms, evaluate=False),
                                  wrt=out.wrt))

    def _independent(self, out: VariableDerivation, targets: list[Node]) -> VariableDerivation:
        for target in targets:
            out.paths.append(0)
            out.results.append(sympy.Integer(0))
            out.steps.append(Step(
                "differentiate", self.total(target, out.wrt), sympy.Integer(0), "constant",
                f"{self.name(target)} does not depend on {out.wrt}, so its derivative by {out.wrt} is zero",
                wrt=out.wrt))
        return out


def _ancestors(target: Node) -> set[Node]:
    """`target` and every node it is computed from."""
    seen: set[Node] = set()
    stack = [target]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(node.args)
    return seen
