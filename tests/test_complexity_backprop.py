"""Backprop of deep networks grows linearly: complexity asserted by counting work, never by timing.

Written out, the gradient of every weight of an L-layer network repeats the
chain of adjoints after it, so answers (and simplify, and rendering) grew as
L². Shared adjoints are now kept as names ∂J/∂u with their definitions, and
the nesting limit counts each statement on its own (L ≥ 49 was refused).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from helpers import assert_gradient_matches

from matcalc_sym import ParseError, derive
from matcalc_sym.adjoint import AdjointMatrix
from matcalc_sym.numeric import evaluate_expression
from matcalc_sym.simplify import tree_size


def network(layers: int, activation: str = "tanh") -> tuple[str, str, dict[str, str]]:
    """hᵢ = act(Wᵢhᵢ₋₁), J = Σ(h_L − t)²: the benchmark's network."""
    statements = [f"h1 = {activation}(W1@x)"]
    statements += [f"h{i} = {activation}(W{i}@h{i - 1})" for i in range(2, layers + 1)]
    statements.append(f"J = sum((h{layers} - t)**2)")
    shapes = {f"W{i}": "n,n" for i in range(1, layers + 1)} | {"x": "n", "t": "n"}
    return "; ".join(statements), ",".join(f"W{i}" for i in range(1, layers + 1)), shapes


WORKED_EXAMPLES = [
    ("a six-layer tanh network, every weight", *network(6)),
    ("a five-layer sigmoid network with biases",
     "; ".join(["h1 = sigmoid(W1@x + b1)"] + [f"h{i} = sigmoid(W{i}@h{i - 1} + b{i})" for i in range(2, 6)]
               + ["J = sum((h5 - t)**2)"]),
     ",".join(f"W{i},b{i}" for i in range(1, 6)),
     {f"W{i}": "n,n" for i in range(1, 6)} | {f"b{i}": "n" for i in range(1, 6)} | {"x": "n", "t": "n"}),
]


def _values(shapes: dict[str, str], n: int = 3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=tuple(n for _ in shape.split(","))) * 0.7 for name, shape in shapes.items()}


def _adjoints(derivation) -> list[str]:
    return [name for name in derivation.definitions if isinstance(derivation.symbols[name], AdjointMatrix)]


@pytest.mark.parametrize("title, text, wrt, shapes", WORKED_EXAMPLES, ids=[w[0] for w in WORKED_EXAMPLES])
def test_named_adjoints_are_right_and_render(title, text, wrt, shapes):
    derivation = derive(text, wrt, shapes=shapes, check=True)
    assert derivation.check.passed, derivation.check.line()
    named = _adjoints(derivation)
    assert named, "a deep network keeps its shared adjoints as names"
    values = _values(shapes)
    for name in wrt.split(","):
        assert_gradient_matches(derivation, values, name)
    # the expanded form, on request, is the same numbers with no adjoint left in it
    expanded = derivation.expanded()
    assert set(expanded) == set(wrt.split(","))
    got = derivation.evaluate(values)
    for name, gradient in expanded.items():
        assert not any(isinstance(s, AdjointMatrix) for s in sympy.preorder_traversal(gradient))
        written = dict(values)
        for defined in derivation.definitions:
            if defined in named:
                break
            written[defined] = evaluate_expression(derivation.definitions[defined], written, derivation.symbols)
        assert np.allclose(evaluate_expression(gradient, written, derivation.symbols), got[name])
    # every format prints the names and their definitions
    text_out = derivation.to_text()
    assert "Substitute back" in text_out and "∂u₂" in text_out
    assert "\\partial \\mathbf{u}_{2}" in derivation.to_latex(standalone=True)
    assert "\\partial \\mathbf{u}_{2}" in derivation.to_markdown()
    assert derivation.to_dict()["result"]
    module: dict = {}
    exec(compile(derivation.to_numpy(), "exported.py", "exec"), module)  # the code the tool generated
    _, exported = module["f_and_grad"](**values)
    assert set(exported) == set(wrt.split(","))
    for name, value in exported.items():
        assert np.allclose(np.reshape(value, np.shape(got[name])), got[name], atol=1e-9), name


def test_two_layer_answers_stay_written_out():
    """Short chains are not worth a name: the README's two-layer network reads as before."""
    text, wrt, shapes = network(2)
    derivation = derive(text, wrt, shapes=shapes)
    assert _adjoints(derivation) == []
    assert derivation.expanded() == derivation.gradients


def _result_nodes(layers: int) -> int:
    text, wrt, shapes = network(layers)
    derivation = derive(text, wrt, shapes=shapes, timeout=None)
    parts = [*derivation.gradients.values(), *(derivation.definitions[n] for n in _adjoints(derivation))]
    return sum(tree_size(p, 10**6) for p in parts)


def test_answers_grow_linearly_with_depth():
    """All gradients and named adjoints together: twice the layers, at most 2.2× the nodes (was ~4×)."""
    sizes = {layers: _result_nodes(layers) for layers in (8, 16, 32)}
    assert sizes[16] <= 2.2 * sizes[8], sizes
    assert sizes[32] <= 2.2 * sizes[16], sizes


class _Counter:
    """Counts nodes visited by SymPy's `xreplace` and `replace` (each visit is one call inside them)."""

    def __init__(self, monkeypatch) -> None:
        self.visits = 0
        original_xreplace = sympy.Basic._xreplace

        def counted(expr, rule):
            self.visits += 1
            return original_xreplace(expr, rule)

        monkeypatch.setattr(sympy.Basic, "_xreplace", counted)
        original_replace = sympy.Basic.replace

        def counted_replace(expr, query, value, *args, **kwargs):
            self.visits += tree_size(expr, 10**6)
            return original_replace(expr, query, value, *args, **kwargs)

        monkeypatch.setattr(sympy.Basic, "replace", counted_replace)


def test_rewrite_walks_grow_linearly_with_depth(monkeypatch):
    """Nodes visited by xreplace/replace per derivation: twice the layers, at most 2.2× the visits.

    Before, every gradient was rewritten whole, and each repeated the chain
    after it: the visits grew 4–5× per doubling.
    """
    counter = _Counter(monkeypatch)
    visits = {}
    for layers in (8, 16, 32):
        text, wrt, shapes = network(layers)
        counter.visits = 0
        derive(text, wrt, shapes=shapes, timeout=None)
        visits[layers] = counter.visits
    assert visits[16] <= 2.2 * visits[8], visits
    assert visits[32] <= 2.2 * visits[16], visits


def test_nesting_limit_counts_each_statement():
    """64 shallow statements derive (they were refused as 'nested more than 100 levels')."""
    text, wrt, shapes = network(64)
    derivation = derive(text, wrt, shapes=shapes)
    assert len(derivation.gradients) == 64
    values = _values(shapes, n=2, seed=1)
    assert_gradient_matches(derivation, values, "W1")
    assert_gradient_matches(derivation, values, "W64")


def test_one_deep_statement_is_still_refused():
    """The limit still holds within a statement; a name starts the count afresh."""
    with pytest.raises(ParseError, match="nested more than 100"):
        derive("sin(" * 101 + "x" + ")" * 101, "x")
    split = "a = " + "sin(" * 60 + "x" + ")" * 60 + "; " + "sin(" * 60 + "a" + ")" * 60
    derivation = derive(split, "x")
    assert derivation.result.has(sympy.cos)


def shared_weight_network(layers: int) -> str:
    """hᵢ = tanh(W hᵢ₋₁) with one W in every layer (a recurrent net unrolled): one gradient, L terms."""
    statements = ["h1 = tanh(W@x)"] + [f"h{i} = tanh(W@h{i - 1})" for i in range(2, layers + 1)]
    return "; ".join([*statements, f"J = sum((h{layers} - t)**2)"])


def test_a_weight_shared_by_every_layer_grows_linearly():
    """One variable's gradient sums a term per layer, each ending in the chain after it: the chain is
    named once per layer, so the answer grows linearly (it was quadratic, and 198 layers timed out)."""
    shapes = {"W": "n,n", "x": "n", "t": "n"}
    sizes = {}
    for layers in (8, 16, 32):
        derivation = derive(shared_weight_network(layers), "W", shapes=shapes, timeout=None)
        parts = [derivation.result, *(derivation.definitions[n] for n in _adjoints(derivation))]
        sizes[layers] = sum(tree_size(p, 10**6) for p in parts)
    assert sizes[16] <= 2.2 * sizes[8] and sizes[32] <= 2.2 * sizes[16], sizes
    derivation = derive(shared_weight_network(60), "W", shapes=shapes, check=True, timeout=120)
    assert derivation.check.passed, derivation.check.line()
    assert_gradient_matches(derivation, _values(shapes, n=2, seed=3), "W")
