"""The benchmarks' random expressions: seeded, of the requested size, and readable by `derive`."""

from __future__ import annotations

import pytest
import sympy
from helpers import randexpr as load_randexpr

from matcalc_sym.simplify import tree_size


@pytest.fixture(scope="module")
def randexpr():
    return load_randexpr()


@pytest.mark.parametrize("nodes", [1, 2, 3, 7, 50, 400, 3200])
def test_tree_has_the_requested_node_count(randexpr, nodes):
    tree = randexpr.random_tree(nodes, seed=5)
    assert tree.size() == nodes
    assert tree.depth() <= 40  # balanced: far below the parser's nesting bound


def test_same_seed_same_expression_other_seed_other_expression(randexpr):
    assert randexpr.random_expression(200, 3) == randexpr.random_expression(200, 3)
    assert randexpr.random_expression(200, 3) != randexpr.random_expression(200, 4)


def test_text_and_sympy_forms_are_the_same_expression(randexpr):
    from matcalc_sym.api import derive

    tree = randexpr.random_tree(30, seed=2)
    derivation = derive(tree.text(), "x,y", simplify=False)
    x, y = sympy.symbols("x y")
    expected = [sympy.diff(tree.sympy(), v) for v in (x, y)]
    point = {"x": 0.7, "y": 1.3}
    got = derivation.evaluate(point).ravel()
    for value, want in zip(got, expected):
        assert value == pytest.approx(float(want.subs({x: 0.7, y: 1.3})), rel=1e-9)


def test_tree_size_stops_counting_past_the_limit():
    x = sympy.Symbol("x")
    expr = sum(sympy.sin(x + i) for i in range(100))
    assert tree_size(sympy.sin(x), 10) == 2
    assert tree_size(expr, 10) == 11
    assert tree_size(expr, 10**6) == len(list(sympy.preorder_traversal(expr)))


def test_an_equation_wider_than_the_terminal_wraps_instead_of_failing():
    from matcalc_sym.api import derive
    from matcalc_sym.render.terminal import equation

    terms = " + ".join(f"sin({k}*x)" for k in range(2, 30))
    derivation = derive(terms, "x")
    substitute = next(s for s in derivation.steps if s.kind == "substitute")
    text = equation(substitute, 60)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "↪" in text  # SymPy's mark for a wrapped line
    assert "2⋅cos(2⋅x)" in text and "29⋅cos(29⋅x)" in text  # first and last terms, on different lines


def test_simplify_does_not_expand_or_cancel_a_large_tree(monkeypatch):
    from matcalc_sym import simplify

    def refuse(expr, *args, **kwargs):
        raise AssertionError("expand/cancel on a large tree")

    x, y = sympy.symbols("x y")
    product = sympy.Mul(*[x + sympy.sin(k * y) for k in range(1, 31)])
    assert simplify.EXPANDABLE < tree_size(product, 10**6) <= 2 * simplify.UNTOUCHED
    monkeypatch.setattr(simplify.sympy, "expand", refuse)
    monkeypatch.setattr(simplify.sympy, "cancel", refuse)
    assert simplify.readable(product) == product
    small = (x + 1) ** 2 - x**2
    monkeypatch.undo()
    assert simplify.readable(small) == 2 * x + 1
