"""The cost of `Derivation.evaluate()` and `--check` in counted work, not seconds.

Both were exponential in a network's depth (no memo, a nested element-wise
array evaluated again for every array around it, one lambdify per scalar
node): `--check` of an 8-layer tanh network took 12.6 s, of 10 layers 50 s.
These tests pin the cost to the number of intermediate variables by counting
the scalar bodies run (one per element-wise or scalar node computed) and the
compilations, which is what timing would measure noisily.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from matcalc_sym import DeriveError, compiled, derive, numeric
from matcalc_sym.arrays import Elem, Elementwise
from matcalc_sym.check import verify

#: interpreter calls may at most double (plus a little) when the layers double
GROWTH = 2.2


def network(layers: int):
    """hᵢ = tanh(Wᵢhᵢ₋₁), J = Σ(h_L − t)², derived by every Wᵢ (as benchmarks/run.py builds it)."""
    statements = ["h1 = tanh(W1@x)"] + [f"h{i} = tanh(W{i}@h{i - 1})" for i in range(2, layers + 1)]
    statements.append(f"J = sum((h{layers} - t)**2)")
    weights = [f"W{i}" for i in range(1, layers + 1)]
    shapes = {w: "n,n" for w in weights} | {"x": "n", "t": "n"}
    return derive("; ".join(statements), weights, shapes=shapes)


def point(layers: int, seed: int = 0, n: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    values = {f"W{i}": rng.normal(size=(n, n)) / np.sqrt(n) for i in range(1, layers + 1)}
    return values | {"x": rng.normal(size=n), "t": rng.normal(size=n)}


def backprop_by_hand(values: dict, layers: int) -> dict:
    """∂J/∂Wᵢ of the same network, written out in NumPy: the numbers evaluate() must give."""
    h = [values["x"].reshape(-1, 1)]
    for i in range(1, layers + 1):
        h.append(np.tanh(values[f"W{i}"] @ h[-1]))
    upstream = 2 * (h[-1] - values["t"].reshape(-1, 1))
    gradients = {}
    for i in range(layers, 0, -1):
        local = upstream * (1 - h[i] ** 2)
        gradients[f"W{i}"] = local @ h[i - 1].T
        upstream = values[f"W{i}"].T @ local
    return gradients


class Counter:
    """Counts scalar bodies run (one per element-wise or scalar node computed) and lambdify calls.

    Counted where the work happens, not where a memo would be: without the
    memo, or with nested arrays computed again, the bodies run more often.
    """

    def __init__(self, monkeypatch) -> None:
        self.bodies = 0
        self.compiled = 0
        run, lambdify = compiled._Plan.run, sympy.lambdify

        def counted_run(plan, arguments):
            self.bodies += 1
            return run(plan, arguments)

        def counted_lambdify(*args, **kwargs):
            self.compiled += 1
            return lambdify(*args, **kwargs)

        monkeypatch.setattr(compiled._Plan, "run", counted_run)
        monkeypatch.setattr(sympy, "lambdify", counted_lambdify)

    def reset(self) -> None:
        self.bodies = self.compiled = 0


@pytest.fixture
def counter(monkeypatch):
    numeric.clear_caches()
    return Counter(monkeypatch)


@pytest.fixture(scope="module")
def networks():
    return {layers: network(layers) for layers in (4, 8, 16)}


def test_evaluate_gives_the_gradients_of_a_deep_network(networks):
    values = point(16)
    got = networks[16].evaluate(values)
    for name, want in backprop_by_hand(values, 16).items():
        np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=1e-14)


def test_evaluate_work_grows_linearly_with_depth(networks, counter):
    bodies = {}
    for layers, derivation in networks.items():
        counter.reset()
        derivation.evaluate(point(layers))
        bodies[layers] = counter.bodies
    assert bodies[8] / bodies[4] <= GROWTH and bodies[16] / bodies[8] <= GROWTH, bodies
    # per layer hᵢ's tanh and one adjoint, each computed once; the last layers' gradients are written out
    # and simplified (the 2 of 2(1 − h²) ⊙ (h − t) in front), so the chain's end is computed in two forms
    assert bodies[16] <= 2 * 16 + 4, bodies


def test_a_derivation_compiles_a_bounded_number_of_functions(networks, counter):
    compilations = {}
    for layers, derivation in networks.items():
        numeric.clear_caches()
        counter.reset()
        derivation.evaluate(point(layers))
        compilations[layers] = counter.compiled
        counter.reset()
        for seed in range(1, 4):
            derivation.evaluate(point(layers, seed))
        assert counter.compiled == 0, "evaluating again at other points compiled again"
    # one function per distinct scalar body: tanh(·) is the same body in every layer
    assert compilations[4] == compilations[8] == compilations[16] <= 8, compilations


def test_a_shared_subexpression_is_computed_once_per_evaluation():
    """h₃'s definition holds h₂'s, which holds h₁'s: after h₃, the same run computes nothing for them."""
    derivation = network(3)
    h1, h2, h3 = (derivation.definitions[f"h{i}"] for i in (1, 2, 3))
    values = point(3)
    run = compiled.Run(*numeric._environment(values, derivation.symbols))
    first, *inner = compiled.program((h3, h2, h1))
    value = first(run)
    after_h3 = run.computed
    for closure in inner:
        closure(run)
    assert run.computed == after_h3 == 6  # three products and three tanh, nothing twice
    want = np.tanh(values["W3"] @ np.tanh(values["W2"] @ np.tanh(values["W1"] @ values["x"].reshape(-1, 1))))
    np.testing.assert_allclose(value, want, rtol=1e-14)


def test_one_evaluation_computes_each_distinct_array_once(networks, counter):
    """evaluate() runs the definitions and all the gradients as one program: the arrays they share
    (every hᵢ, every upstream adjoint) are computed once, not once per gradient."""
    derivation = networks[8]
    derivation.evaluate(point(8))
    counter.reset()
    derivation.evaluate(point(8))
    expressions = sympy.Tuple(*derivation.definitions.values(), *derivation.gradients.values())
    arrays = sum(isinstance(node, Elementwise) for node in numeric.distinct_nodes(expressions))
    assert arrays <= counter.bodies <= arrays + 3, (arrays, counter.bodies)  # + J's sum and the constant 2


def test_the_check_grows_linearly_with_depth(networks, counter):
    calls, compilations = {}, {}
    for layers, derivation in networks.items():
        numeric.clear_caches()
        counter.reset()
        report = verify(derivation)
        assert report.passed, report.line()
        assert report.steps_verified == report.steps_total == 3 * layers + 2
        calls[layers], compilations[layers] = counter.bodies, counter.compiled
    assert calls[8] / calls[4] <= GROWTH and calls[16] / calls[8] <= GROWTH, calls
    assert compilations[4] == compilations[8] == compilations[16] <= 12, compilations


def test_equal_bodies_over_different_arrays_share_one_compiled_function(counter):
    u, v = sympy.MatrixSymbol("u", 3, 1), sympy.MatrixSymbol("v", 3, 1)

    values = {"u": np.array([0.1, 0.2, 0.3]), "v": np.array([-1.0, 0.5, 2.0])}
    symbols = {"u": u, "v": v}
    first = numeric.evaluate_expression(Elementwise(sympy.tanh(Elem(u)), 3, 1), values, symbols)
    second = numeric.evaluate_expression(Elementwise(sympy.tanh(Elem(v)), 3, 1), values, symbols)
    np.testing.assert_array_equal(first, np.tanh(values["u"]).reshape(-1, 1))
    np.testing.assert_array_equal(second, np.tanh(values["v"]).reshape(-1, 1))
    assert counter.compiled == 1


@pytest.mark.parametrize("missing, message", [(("t", "W2"), "W2$"), (("x", "W1"), "W1, x$")])
def test_missing_inputs_are_still_named_before_anything_is_computed(networks, missing, message):
    """As before the memo: the first definition that lacks inputs names all of its own."""
    values = {k: v for k, v in point(4).items() if k not in missing}
    with pytest.raises(DeriveError, match=f"evaluate needs a value for {message}"):
        networks[4].evaluate(values)


def test_a_mask_and_a_scalar_condition_are_compared_entry_by_entry():
    """𝟙[zᵢ > 0 and s > 0]: lambdify's logical_and.reduce((z > 0, s > 0)) needs equal shapes, so a
    body's arguments are broadcast against each other first (as on the semantics branch's interpreter)."""
    z, s = sympy.MatrixSymbol("z", 3, 1), sympy.Symbol("s", real=True)
    masked = Elementwise(sympy.Piecewise((Elem(z), sympy.And(Elem(z) > 0, s > 0)), (0, True)), 3, 1)
    symbols = {"z": z, "s": s}
    values = {"z": np.array([1.0, -2.0, 3.0])}
    np.testing.assert_array_equal(numeric.evaluate_expression(masked, values | {"s": 0.5}, symbols),
                                  [[1.0], [0.0], [3.0]])
    np.testing.assert_array_equal(numeric.evaluate_expression(masked, values | {"s": -0.5}, symbols),
                                  [[0.0], [0.0], [0.0]])
