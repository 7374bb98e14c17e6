"""sum and mean with NumPy's axis= and keepdims=, and keyword arguments from a whitelist."""

import numpy as np
import pytest

from matcalc_sym import ParseError, ShapeError, derive
from tests.helpers import assert_gradient_matches, assert_jacobian_matches, reference_output, upstream_names

SHAPES = {"X": "m,n", "S": "n,n", "x": "n", "v": "n", "c": "n,1", "u": "m"}
RNG = np.random.default_rng(3)
VALUES = {"X": RNG.normal(size=(2, 3)), "S": RNG.normal(size=(3, 3)), "x": RNG.normal(size=3),
          "v": RNG.normal(size=3), "c": RNG.normal(size=(3, 1)), "u": RNG.normal(size=2)}


@pytest.mark.parametrize(("text", "numpy"), [
    ("sum(X, axis=1)", lambda **k: np.sum(k["X"], axis=1)),
    ("sum(X, axis=0)", lambda **k: np.sum(k["X"], axis=0)),
    ("sum(X, axis=-1, keepdims=True)", lambda **k: np.sum(k["X"], axis=-1, keepdims=True)),
    ("sum(X, axis=0, keepdims=True)", lambda **k: np.sum(k["X"], axis=0, keepdims=True)),
    ("mean(X, axis=1)", lambda **k: np.mean(k["X"], axis=1)),
    ("mean(X, keepdims=True)", lambda **k: np.mean(k["X"], keepdims=True)),
    ("sum(x, axis=0)", lambda x, **_: np.sum(x, axis=0)),
    ("mean(S*x, axis=1)", lambda x, **k: np.mean(k["S"] * x, axis=1)),
])
def test_the_reference_and_the_translation_agree_with_numpy(text, numpy):
    d = derive(text, "X" if "X" in text else "S" if "S" in text else "x", shapes=SHAPES)
    values = {k: v for k, v in VALUES.items() if k in text}
    want = numpy(**values)
    np.testing.assert_allclose(reference_output(d, values), want, rtol=1e-12)
    from matcalc_sym.numeric import evaluate_expression

    got = np.asarray(evaluate_expression(d.expression, values, d.symbols), dtype=float)
    np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=1e-12)
    assert np.shape(reference_output(d, values)) == np.shape(want)


@pytest.mark.parametrize(("text", "wrt"), [
    ("sum(tanh(X), axis=1)", "X"),
    ("sum(sum(X**2, axis=0)*v)", "X"),
    ("sum(sum(X**2, axis=0)*v)", "v"),
    ("sum(mean(S*x, axis=1, keepdims=True)*c)", "x"),
    ("sum(mean(S*x, axis=0)**2)", "S"),
    ("sum(exp(X - mean(X, axis=-1, keepdims=True)))", "X"),
    ("sum(log(sum(exp(X), axis=1)) * u)", "X"),
    ("mean(x, axis=0)**2", "x"),
    ("sum(x, axis=0, keepdims=True)", "x"),
])
@pytest.mark.parametrize("mode", ["auto", "reverse"])
def test_gradients_through_axis_reductions_match_numpy(text, wrt, mode):
    d = derive(text, wrt, shapes=SHAPES, mode=mode, check=True)
    assert d.check.passed, d.check.failure
    values = dict(VALUES)
    if upstream_names(d):
        (upstream,) = upstream_names(d)
        values[upstream] = RNG.normal(size=np.shape(reference_output(d, values)))
    if d.rule == "backprop":
        assert_gradient_matches(d, values, wrt)
    else:
        assert_jacobian_matches(d, values)


def test_a_sum_along_an_axis_is_a_product_with_ones():
    d = derive("sum(X, axis=1)", "X", shapes=SHAPES)
    (introduce,) = [s for s in d.steps if s.kind == "introduce"]
    assert str(introduce.rhs) == "X*1"
    assert str(derive("sum(X, axis=0)", "X", shapes=SHAPES).steps[0].rhs) == "X.T*1"


@pytest.mark.parametrize(("text", "error", "message"), [
    ("sum(X, axis=2)", ShapeError, r"sum\(\): axis 2 is out of range for an array of shape \(m, n\)"),
    ("mean(x, axis=-2)", ShapeError, r"mean\(\): axis -2 is out of range"),
    ("sum(X, axis=1.5)", ParseError, r"sum\(\): axis= takes a whole number, True, False or None"),
    ("sum(X, keepdims=x)", ParseError, r"keepdims= takes a whole number"),
    ("tanh(X, axis=1)", ParseError, r"tanh\(\) takes no keyword argument 'axis'"),
    ("sum(X, ddof=1)", ParseError, r"sum\(\) takes no keyword argument 'ddof' \(it takes axis=, keepdims=\)"),
    ("sum(X, axis=100)", ParseError, r"axis=100 is out of range"),
])
def test_bad_keyword_arguments_are_clear_errors(text, error, message):
    with pytest.raises(error, match=message):
        derive(text, "X" if "X" in text else "x", shapes=SHAPES)


def test_every_output_format_renders_an_axis_reduction():
    d = derive("sum(tanh(X), axis=1)", "X", shapes=SHAPES)
    assert "y = u₁⋅𝟙" in d.to_text()  # the introduce step shows the sum of each row as u₁𝟙
    assert r"\mathbb{1}" in d.to_latex() and "$$" in d.to_markdown()
    assert d.to_dict()["result"]["text"] == "(1 - tanh(X)**2) ⊙ ((dJ/dy)*1.T)"
    namespace: dict = {}
    exec(compile(d.to_numpy(), "exported.py", "exec"), namespace)  # the test runs the code the tool generated
    assert namespace["check_gradient"]() < 1e-5


@pytest.mark.parametrize("text, rule, words", [
    ("sum(tanh(sum(X, axis=1)))", "sum", "row-wise (axis=1): one value for each of the N rows, from its n entries"),
    ("sum(mean(X, axis=0)**2)", "mean", "column-wise (axis=0): one value for each of the n columns, from its N entries"),
    ("sum(mean(X, axis=0, keepdims=True)**2)", "mean", "keepdims=True keeps the reduced axis with length 1"),
    ("sum(max(X, axis=1))", "max-reduction", "row-wise (axis=1)"),
    ("sum(var(X, axis=0))", "variance", "column-wise (axis=0)"),
    ("sum(prod(X, axis=-1))", "product-reduction", "row-wise (axis=1)"),
    ("sum(tanh(X))", "sum", "over all N·n entries at once (no axis given)"),
])
def test_a_reduction_step_states_its_axis_in_words(text, rule, words):
    d = derive(text, "X", shapes={"X": "N,n"})
    explanations = [s.explanation for s in d.steps if s.kind == "differentiate" and s.rule == rule]
    assert explanations and any(words in e for e in explanations), explanations


def test_a_vector_reduction_adds_no_axis_words():
    d = derive("sum(tanh(x))", "x", shapes={"x": "n"}, mode="reverse")
    (step,) = [s for s in d.steps if s.kind == "differentiate" and s.rule == "sum"]
    assert "axis" not in step.explanation and "entries" not in step.explanation.split(";")[-1]


@pytest.mark.parametrize("text, wrt", [
    ("sum(std(c, axis=1, keepdims=True))", "c"),
    ("sum(var(c, axis=1))", "c"),
    ("sum(std(r, axis=0)*x)", "r"),
    ("sum(max(c, axis=1)*x)", "c"),
    ("sum(min(r, axis=0))", "r"),
    ("sum(mean(c, axis=-1)*x)", "c"),
])
def test_a_group_of_one_entry_reduces_to_the_entry(text, wrt):
    """Along an axis of length 1 each group is one entry: std and var are 0 everywhere (gradient 0, not
    0/0 = nan), max and min pass the upstream gradient straight through (no tie count, no dead nan branch)."""
    shapes = {"c": "n,1", "r": "1,n", "x": "n"}
    d = derive(text, wrt, shapes=shapes, check=True)
    assert d.check.passed, d.check.failure
    values = {"c": np.array([[1.0], [2.0], [3.0]]), "r": np.array([[1.0, 2.0, 3.0]]), "x": np.array([0.5, -1.0, 2.0])}
    got = np.asarray(d.evaluate(values), dtype=float)
    assert np.all(np.isfinite(got))
    d.to_numpy()  # the export prints every part of the result (a dead 1/0 branch made it fail)
    assert "nan" not in str(d.result) and "zoo" not in str(d.result)
    if text.startswith(("sum(std", "sum(var")):
        assert np.allclose(got, 0.0)
