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
from sympy.core.parameters import evaluate

from . import algebra
from .arrays import flatten_elements, is_array
from .expr import Node
from .graph import IntermediateGraph, array_program, differentiable_depends, is_large
from .steps import Partial, Step
from .symbolic import matrix_shape
from .vector_rules import LocalJacobian, local_jacobians


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


def size_of(value) -> str:
    """The paper's size of a value: 1 for a scalar, n for a column, 1×n for a row, m×n."""
    if not is_array(value):
        return "1"
    rows, cols = value.shape
    return str(rows) if cols == 1 else f"{rows}×{cols}"


class Forward:
    """The four steps of Parr & Howard, one variable at a time (forward accumulation).

    Local derivatives are scalars or Jacobians; products and sums go through
    the special-matrix algebra, so the scalar case is the ordinary chain rule.
    """

    def __init__(self, graph: IntermediateGraph) -> None:
        self.graph = graph
        self.arrays = array_program(graph)
        self.partial_notation = len(graph.variables) > 1 or self.arrays
        self.substitution = graph.substitution()
        self.large = is_large(graph.order)

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
        self.locals_of = locals_of
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
            with evaluate(not self.large):
                substituted = flatten_elements(value.xreplace(self.substitution))
            if target in depends and not target.is_leaf:
                out.steps.append(Step(
                    "substitute", self.total(target, wrt), substituted, "substitute",
                    "replace each intermediate variable by its definition", wrt=wrt))
            out.results.append(substituted)
        if graph.output.op == "vector" and not self.arrays:
            self._combine_vector_of_functions(out, source, targets, locals_of, totals)
        return out

    def _combine_vector_of_functions(self, out, source, targets, locals_of, totals) -> None:
        """y = f(g(x)) for a bracketed list: ∂y/∂x = ∂y/∂g · ∂g/∂x, with ∂y/∂g diagonal.

        Applies when each entry yᵢ is one operation on its own inner gᵢ, which
        is the paper's vector-of-functions example.
        """
        inner = []
        for target in targets:
            found = locals_of.get(target, [])
            if len(found) != 1 or target.is_leaf:
                return
            inner.append(found[0])
        if len({id(local.parameter) for local in inner}) != len(inner):
            return
        k = len(inner)
        outer = sympy.ImmutableMatrix(sympy.diag(*[local.value for local in inner]))
        column = sympy.ImmutableMatrix(k, 1, [totals[local.parameter] for local in inner])
        g = ", ".join(self.name(local.parameter) for local in inner)
        y = str(self.graph.output_symbol)
        why = (f"vector chain rule with g = [{g}]: each entry of {y} depends only on its own entry of g, so "
               f"∂{y}/∂g = {sympy.sstr(outer.tolist())} is diagonal (element-wise diagonal condition), and "
               f"∂g/∂{out.wrt} = {sympy.sstr(column.T.tolist())}ᵀ; shapes ({k}×1) = ({k}×{k})({k}×1)")
        out.steps.append(Step("combine", self.total(self.graph.output, out.wrt), outer * column,
                              "vector chain rule", why,
                              formula=sympy.Mul(Partial(y, "g", True), Partial("g", out.wrt, self.partial_notation)),
                              wrt=out.wrt, shapes={"result": f"{k}×1", "factors": f"({k}×1) = ({k}×{k})({k}×1)"}))

    # -- stages ---------------------------------------------------------------

    def _depends(self, source: Node) -> set[Node]:
        return differentiable_depends(self.graph.order, {source})

    def _differentiate(self, out: VariableDerivation, depends: set[Node]) -> dict[Node, list[LocalJacobian]]:
        graph = self.graph
        locals_of: dict[Node, list[LocalJacobian]] = {}
        for item in graph.intermediates:
            node = item.node
            if node not in depends or node.op == "vector":
                continue
            found = local_jacobians(node, depends, graph.symbol_of, graph.table)
            locals_of[node] = found
            several = sum(1 for a in dict.fromkeys(node.args) if not a.is_const) > 1
            for local in found:
                slots = sum(1 for a in node.args if a is local.parameter)
                explanation = local.explanation
                if slots > 1:
                    explanation += f"; {self.name(local.parameter)} fills {slots} slots, so their partials add"
                shapes = {"jacobian": size_of(local.value)} if self.arrays else {}
                out.steps.append(Step(
                    "differentiate", Partial(self.name(node), self.name(local.parameter), several or self.partial_notation),
                    local.value, local.rule_id, explanation, wrt=out.wrt, shapes=shapes))
        return locals_of

    def _accumulate(self, source, depends, locals_of) -> dict[Node, sympy.Basic]:
        seed = self.graph.symbol_of[source]
        totals: dict[Node, sympy.Basic] = {
            source: sympy.Identity(seed.shape[0]) if is_array(seed) else sympy.Integer(1)}
        self.identities: dict[Node, list[str]] = {}
        for node in self.graph.order:
            if node not in locals_of:
                continue
            total, used = None, []
            for local in locals_of[node]:
                product, identities = algebra.multiply(local.value, totals[local.parameter])
                used.extend(identities)
                total = product if total is None else algebra.add(total, product)
            totals[node] = total
            self.identities[node] = used
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
        if self.arrays:
            self._combine_vector(out, source, target, factors, totals)
            return
        if len(factors) == 1:
            why = (f"{out.wrt} reaches {self.name(target)} in one step, so the derivative is that step's local "
                   f"derivative")
        else:
            why = (f"{out.wrt} reaches {self.name(target)} along one path, so the single-variable chain rule "
                   f"multiplies the {len(factors)} local derivatives along it")
        out.steps.append(Step("combine", self.total(target, out.wrt), totals[target],
                              "single-variable chain rule", why, formula=formula, wrt=out.wrt))

    def _combine_vector(self, out, source, target, factors, totals) -> None:
        """The vector chain rule along one path, with the shape of every factor."""
        sizes = []
        node = target
        while node is not source:
            parameter = next(loc.parameter for loc in self.locals_of[node])
            sizes.append(_jacobian_size(self.graph.symbol_of[node], self.graph.symbol_of[parameter]))
            node = parameter
        result_size = _jacobian_size(self.graph.symbol_of[target], self.graph.symbol_of[source])
        shapes = f"({result_size}) = " + "".join(f"({size})" for size in sizes)
        used = [identity for node in _path(target, source, self.locals_of) for identity in self.identities.get(node, [])]
        why = (f"vector chain rule: multiply the Jacobians along the path from {out.wrt} to "
               f"{self.name(target)}, shapes {shapes}")
        if used:
            why += "; reduced with " + "; ".join(dict.fromkeys(used))
        out.steps.append(Step("combine", self.total(target, out.wrt), totals[target], "vector chain rule", why,
                              formula=sympy.Mul(*factors), wrt=out.wrt,
                              shapes={"result": result_size, "factors": shapes}))

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
        declared = self.graph.program.declared.get(out.wrt, ())
        columns = matrix_shape(declared)[0] if declared else 1
        for target in targets:
            out.paths.append(0)
            value = self.graph.symbol_of[target]
            rows = value.shape[0] if is_array(value) else 1
            zero = sympy.ZeroMatrix(rows, columns) if (rows, columns) != (1, 1) else sympy.Integer(0)
            out.results.append(zero)
            out.steps.append(Step(
                "differentiate", self.total(target, out.wrt), zero, "constant",
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


def _jacobian_size(numerator, denominator) -> str:
    """Numerator layout: rows from the numerator, columns from the denominator."""
    rows = numerator.shape[0] * numerator.shape[1] if is_array(numerator) else 1
    cols = denominator.shape[0] * denominator.shape[1] if is_array(denominator) else 1
    return f"{rows}×{cols}"


def _path(target: Node, source: Node, locals_of) -> list[Node]:
    nodes, node = [], target
    while node is not source:
        nodes.append(node)
        node = next(loc.parameter for loc in locals_of[node])
    return nodes

