"""The dataflow graph a derivation was read from, kept small enough to travel with it.

The chain rule is chosen by counting dataflow paths from the variable to the
output (one path: single-variable; several: total-derivative), so renderers
that explain that choice need the DAG itself: which variable each
intermediate variable is computed from. Only names are kept (no SymPy, no
parser nodes), so a `Derivation` stays cheap to pickle out of the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dataflow:
    """Names in topological order (inputs first, output last) and what each is computed from."""

    order: tuple[str, ...]
    inputs: tuple[tuple[str, tuple[str, ...]], ...]
    output: str

    def __post_init__(self) -> None:
        # lookup tables built once: the graph may have thousands of names
        args = dict(self.inputs)
        users: dict[str, list[str]] = {}
        for name in self.order:
            for arg in args.get(name, ()):
                users.setdefault(arg, []).append(name)
        object.__setattr__(self, "_args", args)
        object.__setattr__(self, "_users", {k: tuple(v) for k, v in users.items()})

    def args(self, name: str) -> tuple[str, ...]:
        return self._args.get(name, ())

    def users(self, name: str) -> tuple[str, ...]:
        return self._users.get(name, ())

    def on_paths(self, source: str) -> set[str]:
        """Every name on some path from `source` to the output (both ends included)."""
        reaches = {source}
        for name in self.order:
            if any(a in reaches for a in self.args(name)):
                reaches.add(name)
        leads = {self.output}
        for name in reversed(self.order):
            if any(u in leads for u in self.users(name)):
                leads.add(name)
        return reaches & leads

    def count_paths(self, source: str) -> int:
        """How many distinct dataflow paths lead from `source` to the output."""
        counts = {source: 1}
        for name in self.order:
            if name != source:
                counts[name] = sum(counts.get(a, 0) for a in self.args(name))
        return counts.get(self.output, 0)


def dataflow_of(graph) -> Dataflow:
    """The names and edges of an `IntermediateGraph` (constants left out)."""
    name_of = {node: str(graph.symbol_of[node]) for node in graph.order if not node.is_const}
    order = tuple(name_of[node] for node in graph.order if node in name_of)
    inputs = tuple(
        (name_of[node], tuple(dict.fromkeys(name_of[a] for a in node.args if a in name_of)))
        for node in graph.order if node in name_of and node.op != "var"
    )
    return Dataflow(order, inputs, name_of[graph.output])
