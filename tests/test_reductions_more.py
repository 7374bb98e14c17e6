"""max(z) and min(z) with one argument, prod, var and std: NumPy's reductions, in both modes and every format.

Every derivative is compared with finite differences of the text as NumPy
computes it (`check=True`, and the helpers at fixed points), for each
axis/keepdims/ddof variant, forward mode for vectors and reverse mode for
everything. The worked examples below are what the gallery shows.
"""

import json

import numpy as np
import pytest

from matcalc_sym import DeriveError, ParseError, ShapeError, derive
from matcalc_sym.numeric import evaluate_expression
from matcalc_sym.reference import Reference
from tests.helpers import (
    assert_matches_numpy,
    reference_output,
    upstream_names,
)
from tests.latex_engine import compile_latex, needs_engine

LAYER_NORM = "y = gamma*(x - mean(x))/sqrt(var(x) + 1e-5) + beta"
LAYER_NORM_SHAPES = {"x": "n", "gamma": "n", "beta": "n"}
BATCH_LAYER_NORM = "y = gamma*(X - mean(X, axis=1, keepdims=True))/sqrt(var(X, axis=1, keepdims=True) + 1e-5) + beta"
BATCH_SHAPES = {"X": "N,n", "gamma": "n", "beta": "n"}
BATCH_NORM = "(X - mean(X, axis=0))/sqrt(var(X, axis=0) + 1e-5)"
MAX_POOLING = "sum(max(X, axis=1))"

#: (title, expression, wrt, shapes): the gallery's worked examples
WORKED_EXAMPLES = [
    ("Layer norm, by x", LAYER_NORM, "x", LAYER_NORM_SHAPES),
    ("Layer norm, by gamma", LAYER_NORM, "gamma", LAYER_NORM_SHAPES),
    ("Layer norm, by beta", LAYER_NORM, "beta", LAYER_NORM_SHAPES),
    ("Layer norm over each row of a batch, by X", BATCH_LAYER_NORM, "X", BATCH_SHAPES),
    ("Layer norm over each row of a batch, by gamma", BATCH_LAYER_NORM, "gamma", BATCH_SHAPES),
    ("Layer norm over each row of a batch, by beta", BATCH_LAYER_NORM, "beta", BATCH_SHAPES),
    ("Batch norm over the batch, by X", BATCH_NORM, "X", {"X": "N,n"}),
    ("Max pooling over each row, by X", MAX_POOLING, "X", {"X": "N,n"}),
]

RNG = np.random.default_rng(16)
VALUES = {"x": RNG.normal(size=4), "gamma": RNG.normal(size=4), "beta": RNG.normal(size=4),
          "X": RNG.normal(size=(3, 4)), "v": RNG.normal(size=3), "w": RNG.normal(size=4)}
SHAPES = {"x": "n", "w": "n", "X": "m,n", "v": "m", "c": "n,1"}
TITLES = [example[0] for example in WORKED_EXAMPLES]


def _vector_only(shapes: dict) -> bool:
    return all("," not in shape for shape in shapes.values())


def _modes(shapes: dict) -> list[str]:
    """Forward mode has Jacobians for vectors only; reverse mode takes everything."""
    return ["forward", "reverse"] if _vector_only(shapes) else ["reverse"]


# -- the worked examples ------------------------------------------------------------------------------


@pytest.mark.parametrize(("title", "text", "wrt", "shapes", "mode"),
                         [(*example, mode) for example in WORKED_EXAMPLES for mode in _modes(example[3])],
                         ids=[f"{example[0]} / {mode}" for example in WORKED_EXAMPLES for mode in _modes(example[3])])
def test_worked_examples_agree_with_numpy_in_every_mode(title, text, wrt, shapes, mode):
    d = derive(text, wrt, shapes=shapes, mode=mode, check=True)
    assert d.check.passed, d.check.failure
    assert d.check.steps_verified >= d.check.steps_total - 1  # only sqrt(u) may find no real point to judge
    assert d.rule == ("vector" if mode == "forward" else "backprop")
    assert_matches_numpy(d, VALUES, wrt)


#: what each worked example gives (auto mode), as the JSON text and the one-line output print it
RESULTS = {
    "Layer norm, by x": "(-1/(n*(var(x) + 1/100000)**(3/2)))*((x - sum(x)/n) ⊙ gamma)*(x - sum(x)/n).T "
                        "+ 1/sqrt(var(x) + 1/100000)*diag(gamma)*((-1/n)*1*1.T + I)",
    "Layer norm, by gamma": "1/sqrt(var(x) + 1/100000)*diag(x - sum(x)/n)",
    "Layer norm, by beta": "I",
    "Layer norm over each row of a batch, by gamma":
        "1.T*((X - X*1*1.T/n) ⊙ (dJ/dy)/(sqrt(var(X, axis=1, keepdims=True) + 1/100000)*1.T))",
    "Layer norm over each row of a batch, by beta": "1.T*(dJ/dy)",
    "Max pooling over each row, by X":
        "where(X >= max(X, axis=1)*1.T, (1*1.T)/(where(X >= max(X, axis=1)*1.T, 1, 0)*1*1.T), 0)",
}


@pytest.mark.parametrize("title", sorted(RESULTS))
def test_worked_examples_read_as_the_textbook_writes_them(title):
    (_, text, wrt, shapes), = [e for e in WORKED_EXAMPLES if e[0] == title]
    d = derive(text, wrt, shapes=shapes)
    assert d.to_dict()["result"]["text"] == RESULTS[title]


def test_layer_norm_by_x_is_the_classic_jacobian():
    """∂y/∂x = diag(γ)/σ · (I − 𝟙𝟙ᵀ/n − x̂x̂ᵀ/n), x̂ = (x − x̄)/σ, σ = √(var + ε), written out with NumPy."""
    d = derive(LAYER_NORM, "x", shapes=LAYER_NORM_SHAPES)
    x, gamma, n = VALUES["x"], VALUES["gamma"], 4
    sigma = np.sqrt(np.var(x) + 1e-5)
    xhat = (x - x.mean()) / sigma
    classic = np.diag(gamma) / sigma @ (np.eye(n) - np.ones((n, n)) / n - np.outer(xhat, xhat) / n)
    np.testing.assert_allclose(d.evaluate(VALUES), classic, rtol=1e-10)


def test_batch_norm_by_x_is_the_classic_backward_pass():
    """dX = (G − mean(G) − x̂·mean(G ⊙ x̂))/σ, each column over the batch: the textbook's batch-norm backward."""
    d = derive(BATCH_NORM, "X", shapes={"X": "N,n"})
    X, G = VALUES["X"], np.random.default_rng(1).normal(size=(3, 4))
    sigma = np.sqrt(X.var(axis=0) + 1e-5)
    xhat = (X - X.mean(axis=0)) / sigma
    classic = (G - G.mean(axis=0) - xhat * (G * xhat).mean(axis=0)) / sigma
    (upstream,) = upstream_names(d)
    np.testing.assert_allclose(d.evaluate({"X": X, upstream: G}), classic, rtol=1e-9)  # shaped like X


@pytest.mark.parametrize(("title", "text", "wrt", "shapes"), WORKED_EXAMPLES, ids=TITLES)
def test_worked_examples_render_in_every_format(title, text, wrt, shapes):
    from matcalc_sym.render.schema import errors

    d = derive(text, wrt, shapes=shapes)
    assert "Result" in d.to_text()
    latex = d.to_latex(standalone=True)
    assert r"\begin{document}" in latex and r"\operatorname{" in latex
    assert "$$" in d.to_markdown()
    document = json.loads(json.dumps(d.to_dict()))
    assert errors(document) == []
    namespace: dict = {}
    exec(compile(d.to_numpy(), "exported.py", "exec"), namespace)  # the test runs the code the tool generated
    assert namespace["check_gradient"]() < 1e-5


@needs_engine
def test_worked_examples_compile_with_pdflatex(tmp_path):
    for index, (_, text, wrt, shapes) in enumerate(WORKED_EXAMPLES):
        compile_latex(derive(text, wrt, shapes=shapes).to_latex(standalone=True), tmp_path, f"example{index}")


# -- each reduction, each variant ---------------------------------------------------------------------

OPERATIONS = {"max": np.max, "min": np.min, "prod": np.prod, "var": np.var, "std": np.std}
VECTOR_VARIANTS = ["", "axis=0", "keepdims=True", "axis=-1, keepdims=True"]
MATRIX_VARIANTS = ["", "axis=0", "axis=1", "axis=-1", "keepdims=True", "axis=0, keepdims=True",
                   "axis=1, keepdims=True"]
DDOF_VARIANTS = ["ddof=1", "axis=0, ddof=1", "axis=1, ddof=2, keepdims=True"]
CASES = ([(op, "x", variant) for op in OPERATIONS for variant in VECTOR_VARIANTS]
         + [(op, "X", variant) for op in OPERATIONS for variant in MATRIX_VARIANTS]
         + [(op, "X", variant) for op in ("var", "std") for variant in DDOF_VARIANTS]
         + [(op, "x", "ddof=1") for op in ("var", "std")])


def _call(op: str, operand: str, variant: str) -> str:
    return f"{op}({operand}{', ' + variant if variant else ''})"


def _keywords(variant: str) -> dict:
    pairs = (item.split("=") for item in variant.split(", ") if item)
    return {key: True if value == "True" else int(value) for key, value in pairs}


@pytest.mark.parametrize(("op", "operand", "variant"), CASES, ids=[_call(*case) for case in CASES])
def test_values_are_numpys(op, operand, variant):
    text = _call(op, operand, variant)
    d = derive(text, operand, shapes=SHAPES)
    want = OPERATIONS[op](VALUES[operand], **_keywords(variant))
    got = reference_output(d, VALUES)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    translated = np.asarray(evaluate_expression(d.expression, {operand: VALUES[operand]}, d.symbols), dtype=float)
    np.testing.assert_allclose(np.ravel(translated), np.ravel(want), rtol=1e-12)


@pytest.mark.parametrize(("op", "operand", "variant", "mode"),
                         [(*case, mode) for case in CASES for mode in (["forward", "reverse"] if case[1] == "x"
                                                                       else ["reverse"])],
                         ids=[f"{_call(*case)} / {mode}" for case in CASES
                              for mode in (["forward", "reverse"] if case[1] == "x" else ["reverse"])])
def test_derivatives_agree_with_numpy(op, operand, variant, mode):
    d = derive(_call(op, operand, variant), operand, shapes=SHAPES, mode=mode, check=True)
    assert d.check.passed, d.check.failure
    assert d.check.steps_verified == d.check.steps_total == 1
    assert_matches_numpy(d, VALUES, operand)


@pytest.mark.parametrize("text", ["sum(max(X, axis=0) * w)", "sum(min(X, axis=1, keepdims=True) * X)",
                                  "sum(prod(X, axis=1) * v)", "var(X, ddof=1)", "sum(std(X, axis=0) * w)"])
def test_the_written_out_expansion_agrees(text):
    d = derive(text, "X", shapes=SHAPES, expand=2)
    assert d.expansion.equal


@pytest.mark.parametrize("text", ["max(x)", "min(x, keepdims=True)", "prod(x)", "var(x, ddof=1)", "std(x)",
                                  "sum(max(X, axis=1))", "sum(var(X, axis=0, keepdims=True) * X)"])
def test_every_reduction_exports_working_numpy_code(text):
    wrt = "X" if "X" in text else "x"
    namespace: dict = {}
    exec(compile(derive(text, wrt, shapes=SHAPES).to_numpy(), "exported.py", "exec"), namespace)
    assert namespace["check_gradient"]() < 1e-5


# -- the forms themselves -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "result"), [
    ("max(x)", "(where(x >= max(x), 1, 0)/sum(where(x >= max(x), 1, 0))).T"),
    ("min(x)", "(where(x <= min(x), 1, 0)/sum(where(x <= min(x), 1, 0))).T"),
    ("prod(x)", "prod(x)*(1/x).T"),
    ("var(x)", "(2/n)*(x - sum(x)/n).T"),
    ("var(x, ddof=1)", "(2/(n - 1))*(x - sum(x)/n).T"),
    ("std(x)", "(1/(n*std(x)))*(x - sum(x)/n).T"),
    ("max(3) + var(2) + prod(ones(n)) * sum(x)", "1.T"),
])
def test_forward_jacobians_read_like_the_textbook(text, result):
    assert str(derive(text, "x", shapes=SHAPES).result) == result


def test_ties_share_the_gradient_equally():
    """At a tie max is not differentiable; the gradient is split equally among the tied entries (a subgradient)."""
    forward = derive("max(x)", "x", shapes=SHAPES)
    np.testing.assert_allclose(forward.evaluate({"x": [1.0, 3.0, 3.0]}), [[0.0, 0.5, 0.5]])
    np.testing.assert_allclose(derive("min(x)", "x", shapes=SHAPES).evaluate({"x": [2.0, -1.0, 5.0]}), [[0, 1, 0]])
    pooled = derive("sum(max(X, axis=1))", "X", shapes=SHAPES)
    ties = np.array([[1.0, 2.0, 2.0], [3.0, 0.0, 3.0], [0.0, 1.0, -1.0]])
    np.testing.assert_allclose(pooled.evaluate({"X": ties}), [[0, 0.5, 0.5], [0.5, 0, 0.5], [0, 1, 0]])
    columns = derive("sum(min(X, axis=0))", "X", shapes=SHAPES)
    ties = np.array([[1.0, 0.0, 2.0], [1.0, 2.0, 2.0], [3.0, 0.0, 2.0]])
    np.testing.assert_allclose(columns.evaluate({"X": ties}), [[0.5, 0.5, 1 / 3], [0.5, 0, 1 / 3], [0, 0.5, 1 / 3]])


def test_the_product_rule_is_the_product_of_the_other_entries():
    d = derive("sum(prod(X, axis=1))", "X", shapes=SHAPES)
    X = VALUES["X"]
    others = np.array([[np.prod(np.delete(row, j)) for j in range(X.shape[1])] for row in X])
    np.testing.assert_allclose(d.evaluate({"X": X}), others, rtol=1e-12)


def test_var_and_std_divide_by_n_minus_ddof():
    x = VALUES["x"]
    for ddof in (0, 1, 2):
        var = derive(f"var(x, ddof={ddof})", "x", shapes=SHAPES).evaluate({"x": x})
        std = derive(f"std(x, ddof={ddof})", "x", shapes=SHAPES).evaluate({"x": x})
        np.testing.assert_allclose(var, [2 * (x - x.mean()) / (4 - ddof)], rtol=1e-12)
        np.testing.assert_allclose(std, [(x - x.mean()) / ((4 - ddof) * np.std(x, ddof=ddof))], rtol=1e-12)


def test_the_steps_name_the_rules_and_print_the_calls_as_written():
    d = derive("sum(max(X, axis=1)) + sum(var(X, axis=0, ddof=1))", "X", shapes=SHAPES)
    introduced = [str(s.rhs) for s in d.steps if s.kind == "introduce"]
    assert "max(X, axis=1)" in introduced and "var(X, axis=0, ddof=1)" in introduced
    rules = {s.rule for s in d.steps if s.kind == "differentiate"}
    assert {"max-reduction", "variance"} <= rules
    latex = d.to_latex()
    assert r"\operatorname{max}\left(\mathrm{X}, \text{axis}=1\right)" in latex
    assert r"\operatorname{var}\left(\mathrm{X}, \text{axis}=0, \text{ddof}=1\right)" in latex
    assert "amax" not in d.to_text() + latex + d.to_markdown()
    text = derive("max(x)", "x", shapes=SHAPES).to_text()
    assert "𝟙[x ≥ y]" in text and "max-reduction" in text


def test_numpys_own_names_amax_and_amin_are_the_same_reductions():
    d = derive("amax(X, axis=1) - amin(X, axis=1)", "X", shapes=SHAPES, check=True)
    assert d.check.passed
    want = np.ptp(VALUES["X"], axis=1)
    np.testing.assert_allclose(reference_output(d, VALUES), want, rtol=1e-12)
    assert str(d.steps[0].rhs) == "max(X, axis=1)"


# -- max and min with two arguments stay element-wise -------------------------------------------------


def test_arity_decides_between_the_reduction_and_the_element_wise_maximum():
    from matcalc_sym.parse import parse

    assert parse("max(x)", SHAPES).output.op == "amax" and parse("max(x)", SHAPES).output.shape == ()
    assert parse("max(x, w)", SHAPES).output.op == "max"
    assert len(parse("max(0, X)", SHAPES).output.shape) == 2
    assert parse("min(X, axis=0)", SHAPES).output.op == "amin"


def test_two_argument_max_keeps_its_element_wise_rules():
    relu = derive("max(0, x)", "x", shapes=SHAPES, check=True)
    assert relu.check.passed and any("relu rule element by element" in s.explanation for s in relu.steps)
    pair = derive("max(x, w) + min(x, w)", "x", shapes=SHAPES, check=True)
    assert pair.check.passed and pair.rule == "vector"
    x, w = VALUES["x"], VALUES["w"]
    np.testing.assert_allclose(pair.evaluate({"x": x, "w": w}), np.eye(4))  # one of the two follows x
    both = derive("max(max(x, w))", "x", shapes=SHAPES, check=True)
    assert both.check.passed
    assert_matches_numpy(both, VALUES, "x")


@pytest.mark.parametrize(("text", "error", "message"), [
    ("maximum(x)", ParseError, r"maximum\(\) takes 2 argument\(s\), got 1 \(the largest or smallest entry of an "
                               r"array is max\(z\)\)"),
    ("max()", ParseError, r"max\(\) takes 1 or 2 argument\(s\), got 0"),
    ("min(x, w, x)", ParseError, r"min\(\) takes 1 or 2 argument\(s\), got 3"),
    ("max(x, w, axis=0)", ParseError, r"max\(\) takes no keyword argument 'axis'"),
    ("max(x, axis=1)", ShapeError, r"max\(\): axis 1 is out of range for an array of shape \(n,\)"),
    ("prod(X, ddof=1)", ParseError, r"prod\(\) takes no keyword argument 'ddof' \(it takes axis=, keepdims=\)"),
    ("var(X, ddof=None)", ShapeError, r"var\(\): ddof= takes a whole number"),
    ("std(x, ddof=True)", ShapeError, r"std\(\): ddof= takes a whole number"),
    ("std(u, ddof=3)", ShapeError, r"std\(\): ddof=3 leaves no degrees of freedom: each value combines 3 entries"),
    ("var(X, axis=-3)", ShapeError, r"var\(\): axis -3 is out of range for an array of shape \(m, n\)"),
    ("var = x", ParseError, r"'var' is a built-in name"),
])
def test_bad_calls_are_clear_errors(text, error, message):
    with pytest.raises(error, match=message):
        derive(text, "x", shapes={**SHAPES, "u": "3"})


def test_forward_mode_refuses_a_matrix_reduction():
    with pytest.raises(DeriveError, match="use mode='reverse'"):
        derive("max(X)", "X", shapes=SHAPES, mode="forward")


# -- names: layer norm's gamma, and the oracle ------------------------------------------------------------


def test_a_declared_name_is_a_variable_even_where_it_spells_a_function():
    d = derive("sum(gamma*x) + gamma(s)", "s", shapes={"gamma": "n", "x": "n"}, check=True)
    assert d.check.passed and "polygamma" in str(d.result)  # gamma(s) is still the Γ function
    by_gamma = derive("sum(gamma*x)", "gamma", shapes={"gamma": "n", "x": "n"})
    np.testing.assert_allclose(by_gamma.evaluate({"gamma": VALUES["gamma"], "x": VALUES["x"]}), [VALUES["x"]])
    with pytest.raises(ParseError, match="'gamma' is a function"):
        derive("gamma + x", "x")


@pytest.mark.parametrize(("text", "want"), [
    ("max([x, 2*y, y*x])", lambda x, y: max(x, 2 * y, x * y)),
    ("min([x, 2*y, y*x])", lambda x, y: min(x, 2 * y, x * y)),
    ("prod([x, 2*y, y*x])", lambda x, y: x * 2 * y * y * x),
    ("var([x, 2*y, y*x], ddof=1)", lambda x, y: np.var([x, 2 * y, y * x], ddof=1)),
    ("std([x, 2*y, y*x])", lambda x, y: np.std([x, 2 * y, y * x])),
    ("max(x) + var(y) + std(x) + prod(y)", lambda x, y: x + y),
])
def test_the_thirty_digit_oracle_computes_the_reductions(text, want):
    got = Reference(text)({"x": 0.7, "y": -1.3}, precise=True)
    assert float(got) == pytest.approx(want(0.7, -1.3), rel=1e-14)
    assert float(Reference(text)({"x": 0.7, "y": -1.3})) == pytest.approx(want(0.7, -1.3), rel=1e-14)


def test_the_oracles_numpy_code_computes_what_the_oracle_computes():
    import math

    from matcalc_sym.reference_code import HELPERS, numpy_statements

    text = ("max(A, axis=1) + min(A, axis=0) + sum(prod(A, axis=0, keepdims=True)) + var(A, ddof=1)"
            " + std(A, axis=1) + amax(v) * max(v, 0.5) * min(0.5, v) + var(v, keepdims=True)")
    values = {"A": np.array([[2.0, 0.5, 0.1], [0.3, 1.5, -0.2], [0.2, 0.4, 1.8]]), "v": np.array([0.5, -1.0, 2.0])}
    want = Reference(text, {"A": ("n", "n"), "v": ("n",)})(values)
    namespace = {"_np": np, "_math": math, **values}
    exec(HELPERS, namespace)  # the package's own fixed helper code
    ((_, code),) = numpy_statements(text, lambda name: name)
    assert "_np.maximum(v, 0.5)" in code and "_np.max(A, axis=1)" in code
    np.testing.assert_allclose(eval(code, namespace), want, rtol=1e-12)  # generated from the syntax tree
