"""The dataflow diagram: why this chain rule was chosen.

Three views of the intermediate-variable DAG kept on `Derivation.dataflow`:
a rich `Tree` from the output down to the inputs with every name on a path
from the variable marked (●), Graphviz DOT with those paths in colour, and
the paper's table of the order in which forward differentiation (x → y) and
backward differentiation (y → x) compute the partial derivatives.
"""

from __future__ import annotations

from ..dataflow import Dataflow
from .terminal import input_text

#: past this many lines the tree stops expanding (a DAG can unfold exponentially)
MAX_TREE_NODES = 300
ON_PATH, OFF_PATH = "●", "○"


def _dataflow(derivation) -> Dataflow:
    if derivation.dataflow is None:
        raise ValueError("this derivation carries no dataflow graph")
    return derivation.dataflow


def definitions(derivation) -> dict[str, str]:
    """Each introduced name's definition as plain text (u1 → 'x**2')."""
    return {str(s.lhs): input_text(s.rhs) for s in derivation.steps if s.kind == "introduce"}


def path_summary(derivation, wrt: str) -> str:
    """One line: how many paths lead from `wrt` to the output, and what that means."""
    flow = _dataflow(derivation)
    count = flow.count_paths(wrt)
    output = flow.output
    if count == 0:
        return f"{output} does not depend on {wrt}: no path, the derivative is 0"
    if count == 1:
        return f"1 path from {wrt} to {output}: changes in {wrt} reach {output} one way (single-variable chain rule)"
    return (f"{count} paths from {wrt} to {output}: the total-derivative chain rule sums "
            f"the product along each path")


def tree(derivation, wrt: str | None = None):
    """A rich `Tree` of the DAG, output at the root; ● marks names on a path from `wrt`."""
    from rich.text import Text
    from rich.tree import Tree

    flow = _dataflow(derivation)
    wrt = wrt or derivation.wrt[0]
    on_path = flow.on_paths(wrt) if wrt in flow.order else set()
    defs = definitions(derivation)
    seen: set[str] = set()
    budget = [MAX_TREE_NODES]

    def label(name: str) -> Text:
        marked = name in on_path
        text = Text(f"{ON_PATH if marked else OFF_PATH} ", style="bold magenta" if marked else "dim")
        body = f"{name} = {defs[name]}" if name in defs else f"{name}  (input)"
        text.append(body, style="bold" if marked else "")
        return text

    def grow(node, name: str) -> None:
        for arg in flow.args(name):
            budget[0] -= 1
            if budget[0] < 0:
                node.add(Text("…", style="dim"))
                return
            child = node.add(label(arg), guide_style="bold magenta" if arg in on_path else "dim")
            if arg in seen and flow.args(arg):
                child.label.append("  (shared: drawn above)", style="dim italic")
                continue
            seen.add(arg)
            grow(child, arg)

    root = Tree(label(flow.output), guide_style="bold magenta" if flow.output in on_path else "dim")
    seen.add(flow.output)
    grow(root, flow.output)
    return root


def graph_renderables(derivation):
    """For `--graph`: a heading, the path count per variable, and the tree."""
    from rich.text import Text

    yield Text(f"Dataflow graph of {' '.join(derivation.source.split())}", style="bold")
    for name in derivation.wrt:
        yield Text(path_summary(derivation, name))
    yield tree(derivation)
    yield Text(f"{ON_PATH} on a path from {derivation.wrt[0]} to the output   {OFF_PATH} elsewhere", style="dim")


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(derivation, wrt: str | None = None) -> str:
    """Graphviz DOT: inputs as boxes, the output doubled, paths from `wrt` in red."""
    flow = _dataflow(derivation)
    wrt = wrt or derivation.wrt[0]
    on_path = flow.on_paths(wrt) if wrt in flow.order else set()
    defs = definitions(derivation)
    lines = [f"// dataflow of {' '.join(derivation.source.split())}; paths from {wrt} in red",
             "digraph dataflow {", "  rankdir=BT;", '  node [fontname="Helvetica"];']
    for name in flow.order:
        label = f"{name} = {defs[name]}" if name in defs else name
        attrs = [f"label={_dot_id(label)}",
                 "shape=" + ("box" if not flow.args(name) else "doublecircle" if name == flow.output else "ellipse")]
        if name in on_path:
            attrs += ["color=red", "penwidth=2"]
        lines.append(f"  {_dot_id(name)} [{', '.join(attrs)}];")
    for name in flow.order:
        for arg in flow.args(name):
            style = " [color=red, penwidth=2]" if arg in on_path and name in on_path else ""
            lines.append(f"  {_dot_id(arg)} -> {_dot_id(name)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _d(top: str, bottom: str, partial: bool) -> str:
    mark = "∂" if partial else "d"
    return f"{mark}{top}/{mark}{bottom}"


def _equation(lhs: str, terms: list[str]) -> str:
    """`lhs = sum of terms`, or just `lhs` when it is its own one local derivative."""
    if terms == [lhs] or [t.replace("∂", "d") for t in terms] == [lhs]:
        return lhs
    return f"{lhs} = " + " + ".join(terms)


def order_rows(derivation, wrt: str | None = None) -> list[tuple[str, str]]:
    """The paper's table: (forward, backward) rows, each the partial computed at that step.

    Forward goes from `wrt` to the output, each total derivative summing over
    the name's inputs; backward goes from the output to `wrt`, each summing
    over the name's users. Only names on a path from `wrt` take part.
    """
    flow = _dataflow(derivation)
    wrt = wrt or derivation.wrt[0]
    marked = flow.on_paths(wrt) if wrt in flow.order else set()
    on_path = [n for n in flow.order if n in marked]
    y = flow.output
    forward, backward = [], []
    for name in on_path:
        if name == wrt:
            forward.append(f"d{wrt}/d{wrt} = 1")
            continue
        several = len(flow.args(name)) > 1
        terms = [_d(name, a, several) + (f"·d{a}/d{wrt}" if a != wrt else "")
                 for a in flow.args(name) if a in on_path]
        forward.append(_equation(f"d{name}/d{wrt}", terms))
    for name in reversed(on_path):
        if name == y:
            backward.append(f"d{y}/d{y} = 1")
            continue
        terms = [(f"d{y}/d{u}·" if u != y else "") + _d(u, name, len(flow.args(u)) > 1)
                 for u in flow.users(name) if u in on_path]
        backward.append(_equation(f"d{y}/d{name}", terms))
    return list(zip(forward, backward))


def order_table(derivation, wrt: str | None = None):
    """`--order`: the rows of `order_rows` as a rich table."""
    from rich.table import Table

    flow = _dataflow(derivation)
    wrt = wrt or derivation.wrt[0]
    table = Table(title="Order in which the partial derivatives are computed", title_justify="left")
    table.add_column("step", justify="right", style="dim")
    table.add_column(f"Forward differentiation from {wrt} to {flow.output}")
    table.add_column(f"Backward differentiation from {flow.output} to {wrt}")
    for number, (forward, backward) in enumerate(order_rows(derivation, wrt), start=1):
        table.add_row(str(number), forward, backward)
    return table
