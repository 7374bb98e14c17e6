"""The dataflow graph on a Derivation: path counts, the tree, DOT, and the forward/backward order."""

import io

import pytest
from rich.console import Console

from matcalc_sym import derive
from matcalc_sym.render.graph import order_rows, path_summary, to_dot, tree
from tests.examples import ALL, SCALAR, derived


def plain(renderable, width=80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


@pytest.mark.parametrize("example", SCALAR[:6], ids=lambda e: e.key)
def test_path_count_explains_the_chain_rule(example):
    d = derived(example.key)
    paths = d.dataflow.count_paths(d.wrt[0])
    assert (paths > 1) == (d.rule == "total-derivative")


@pytest.mark.parametrize("example", ALL, ids=lambda e: e.key)
def test_every_example_carries_its_dag(example):
    d = derived(example.key)
    flow = d.dataflow
    introduced = [str(s.lhs) for s in d.steps if s.kind == "introduce"]
    assert [n for n in flow.order if flow.args(n)] == introduced
    assert flow.order.index(flow.output) == len(flow.order) - 1
    for name in d.wrt:
        assert flow.count_paths(name) >= 1 and name in flow.on_paths(name)


def test_paths_in_a_diamond():
    d = derive("sin(x**2) * cos(x**2) + y", "x")
    flow = d.dataflow
    assert flow.count_paths("x") == 2  # x → x² → sin → product and x → x² → cos → product
    assert flow.count_paths("y") == 1
    assert "y" not in flow.on_paths("x") and flow.output in flow.on_paths("y")
    assert d.rule == "total-derivative"


def test_tree_of_example_3():
    assert plain(tree(derived("ex03_x_plus_square"))) == (
        "● y = x + u1\n"
        "┣━━ ● x  (input)\n"
        "┗━━ ● u1 = x**2\n"
        "    ┗━━ ● x  (input)\n"
    )


def test_tree_marks_only_the_paths_from_the_variable():
    text = plain(tree(derived("ex07_gradient"), "y"))
    assert "● f = u2*y" in text and "○ u2 = 3*u1" in text and "● y  (input)" in text
    assert "○ x  (input)" in text


def test_shared_intermediates_are_drawn_once():
    text = plain(tree(derive("sin(x**2) * cos(x**2)")))
    assert text.count("u1 = x**2") == 2
    assert text.count("(shared: drawn above)") == 1
    assert text.count("x  (input)") == 1


def test_summary_sentences():
    assert path_summary(derived("ex01_sin_square"), "x").startswith("1 path from x to y")
    assert path_summary(derived("ex05_x_times_square"), "x").startswith("2 paths from x to y")


def test_dot_is_a_digraph_with_red_paths():
    dot = to_dot(derived("ex07_gradient"), "x")
    assert dot.splitlines()[1] == "digraph dataflow {" and dot.rstrip().endswith("}")
    assert '"x" -> "u1" [color=red, penwidth=2];' in dot
    assert '"y" -> "f";' in dot  # y is not on a path from x
    assert '"f" [label="f = u2*y", shape=doublecircle, color=red, penwidth=2];' in dot
    assert dot.count("{") == dot.count("}")


def test_order_table_of_example_4():
    assert order_rows(derived("ex04_sin_sum")) == [
        ("dx/dx = 1", "dy/dy = 1"),
        ("du1/dx", "dy/du2"),
        ("du2/dx = ∂u2/∂x + ∂u2/∂u1·du1/dx", "dy/du1 = dy/du2·∂u2/∂u1"),
        ("dy/dx = dy/du2·du2/dx", "dy/dx = dy/du1·du1/dx + dy/du2·∂u2/∂x"),
    ]


def test_large_graphs_render_quickly_and_the_tree_is_capped():
    import time

    from matcalc_sym.render.graph import MAX_TREE_NODES

    d = derive(" + ".join(f"sin(x*{i})" for i in range(1, 300)), "x")
    start = time.perf_counter()
    rows, dot, text = order_rows(d), to_dot(d), plain(tree(d))
    assert time.perf_counter() - start < 5
    assert len(rows) == len(d.dataflow.order) and dot.count(" -> ") > 800
    assert len(text.splitlines()) <= MAX_TREE_NODES + 2 and text.rstrip().endswith("…")
