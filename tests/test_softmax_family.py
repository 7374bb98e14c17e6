"""The softmax family of issue 16 §2: softmax, log_softmax and logsumexp with axis= (and keepdims=),
cross-entropy's classic s − y, GELU and SiLU, and binary cross-entropy with logits.

Every derivative here is compared with finite differences of NumPy reading the text
(`check=True`, and the helpers in tests/helpers.py); values are compared with SciPy's
meaning written out in this file with mpmath (SciPy itself is not a dependency).
"""

import math

import mpmath
import numpy as np
import pytest
import sympy

from matcalc_sym import ParseError, ShapeError, derive
from matcalc_sym.numeric import evaluate_expression
from matcalc_sym.reference import Undefined
from matcalc_sym.render.schema import errors as schema_errors
from tests.helpers import (
    assert_jacobian_matches,
    assert_matches_numpy,
    reference_output,
)

SOFTMAX_REGRESSION = "L = -sum(y*log(softmax(W@x + b)))"
REGRESSION_SHAPES = {"W": "k,n", "x": "n", "b": "k", "y": "k"}
BATCH_CROSS_ENTROPY = "L = -sum(Y*log_softmax(X@W + b, axis=1))/N"
BATCH_SHAPES = {"X": "N,n", "W": "n,k", "b": "k", "Y": "N,k"}
ATTENTION = "O = softmax(Q@K.T/sqrt(d), axis=1)@V"
ATTENTION_SHAPES = {"Q": "n,d", "K": "n,d", "V": "n,e"}
MLP_SHAPES = {"W1": "h,n", "x": "n", "b1": "h", "W2": "m,h", "y": "m"}
BCE_SHAPES = {"X": "N,n", "w": "n", "y": "N"}
BCE_SOFTPLUS = "z = X@w; L = mean(log(1 + exp(z)) - y*z)"
BCE_SIGMOID = "z = X@w; L = mean(-y*log(sigmoid(z)) - (1 - y)*log(1 - sigmoid(z)))"

#: the gallery's worked examples: (title, expression, wrt, shapes)
WORKED_EXAMPLES = [
    ("Softmax regression: cross-entropy by the weights W", SOFTMAX_REGRESSION, "W", REGRESSION_SHAPES),
    ("Softmax regression: cross-entropy by the bias b", SOFTMAX_REGRESSION, "b", REGRESSION_SHAPES),
    ("Batch softmax cross-entropy (row-wise log_softmax) by W", BATCH_CROSS_ENTROPY, "W", BATCH_SHAPES),
    ("A single attention head by the queries Q", ATTENTION, "Q", ATTENTION_SHAPES),
    ("A single attention head by the keys K", ATTENTION, "K", ATTENTION_SHAPES),
    ("A single attention head by the values V", ATTENTION, "V", ATTENTION_SHAPES),
    ("GELU MLP (exact GELU) by W1", "L = sum((W2@gelu(W1@x + b1) - y)**2)", "W1", MLP_SHAPES),
    ("SiLU MLP by W1", "L = sum((W2@silu(W1@x + b1) - y)**2)", "W1", MLP_SHAPES),
    ("Binary cross-entropy with logits, softplus form, by w", BCE_SOFTPLUS, "w", BCE_SHAPES),
    ("Binary cross-entropy with logits, sigmoid form, by w", BCE_SIGMOID, "w", BCE_SHAPES),
]

SIZES = {"k": 4, "n": 3, "N": 5, "d": 2, "e": 3, "h": 4, "m": 2}
RNG = np.random.default_rng(16)


def values_for(shapes: dict, rng=RNG) -> dict:
    """Random inputs of the declared shapes (dimension names read from SIZES)."""
    return {name: rng.normal(size=tuple(SIZES.get(d, 1) if not d.isdigit() else int(d) for d in shape.split(",")))
            for name, shape in shapes.items()}


def run_exported(d) -> float:
    namespace: dict = {}
    exec(compile(d.to_numpy(), "exported.py", "exec"), namespace)  # the test runs the code the tool generated
    return namespace["check_gradient"]()


def assert_renders(d) -> None:
    """Every output format, without crashing, with the content each promises."""
    assert d.output in d.to_text()
    assert r"\begin{document}" in d.to_latex(standalone=True)
    assert "$$" in d.to_markdown()
    assert schema_errors(d.to_dict()) == []
    assert run_exported(d) < 1e-5


def softmax(z, axis=None):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# -- the worked examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "reverse"])
@pytest.mark.parametrize(("title", "text", "wrt", "shapes"), WORKED_EXAMPLES, ids=[e[0] for e in WORKED_EXAMPLES])
def test_worked_example_is_right_and_renders(title, text, wrt, shapes, mode):
    d = derive(text, wrt, shapes=shapes, mode=mode, check=True)
    assert d.check.passed, d.check.failure
    assert d.check.steps_verified == d.check.steps_total or d.check.steps_verified > 0
    assert_matches_numpy(d, values_for(shapes), wrt)
    assert_renders(d)


def test_softmax_regression_ends_at_softmax_minus_y():
    """Classic: ∂L/∂W = (softmax(Wx + b) − y)xᵀ and ∂L/∂b = softmax(Wx + b) − y for a one-hot y."""
    by_w = derive(SOFTMAX_REGRESSION, "W", shapes=REGRESSION_SHAPES)
    assert str(by_w.result) == "(softmax(W*x + b)*sum(y) - y)*x.T"
    assert any(note.endswith("dL/dW = outer(softmax(W @ x + b) - y, x)") for note in by_w.notes), by_w.notes
    by_b = derive(SOFTMAX_REGRESSION, "b", shapes=REGRESSION_SHAPES)
    assert str(by_b.result) == "sum(y)*softmax(W*x + b).T - y.T"  # forward mode: a row, numerator layout
    values = values_for(REGRESSION_SHAPES)
    values["y"] = np.eye(4)[2]  # one-hot
    s = softmax(values["W"] @ values["x"] + values["b"])
    np.testing.assert_allclose(by_w.evaluate(values), np.outer(s - values["y"], values["x"]), rtol=1e-12)
    np.testing.assert_allclose(by_b.evaluate(values), (s - values["y"])[None, :], rtol=1e-12)


def test_batch_cross_entropy_ends_at_s_minus_y_over_n_row_by_row():
    d = derive(BATCH_CROSS_ENTROPY, "W", shapes=BATCH_SHAPES)
    assert str(d.result) == "X.T*(-Y/N + softmax(X*W + 1*b.T, axis=1) ⊙ (Y*1*1.T)/N)"
    (note,) = [n for n in d.notes if "classic" in n]
    assert "Y·𝟙 (the sum of each row of Y)" in note and "row-wise (axis=1): over each of the N rows" in note
    assert note.endswith("dL/dW = (1/N)*(X.T @ (softmax(X @ W + outer(ones(N), b), axis=1) - Y))")
    values = values_for(BATCH_SHAPES)
    values["Y"] = np.eye(4)[[0, 3, 1, 1, 2]]  # one-hot rows
    s = softmax(values["X"] @ values["W"] + values["b"], axis=1)
    np.testing.assert_allclose(d.evaluate(values), values["X"].T @ (s - values["Y"]) / 5, rtol=1e-12)
    (step,) = [s for s in d.steps if s.rule == "log-softmax"]
    assert "row-wise (axis=1): over each of the N rows, k entries each" in step.explanation


# -- cross-entropy with softmax: the classic s − y ------------------------------------------------------

VECTOR = {"z": "n", "y": "n"}


@pytest.mark.parametrize("mode", ["auto", "reverse"])
@pytest.mark.parametrize("text", ["-sum(y*log(softmax(z)))", "-sum(y*log_softmax(z))",
                                  "s = softmax(z); L = -sum(y*log(s))"])
def test_cross_entropy_is_s_sum_y_minus_y_and_the_note_says_s_minus_y(text, mode):
    d = derive(text, "z", shapes=VECTOR, mode=mode, check=True)
    assert d.check.passed, d.check.failure
    (note,) = [n for n in d.notes if "classic" in n]
    assert "sum(y) stays in the result because nothing says the target y sums to 1" in note
    assert "for a one-hot or probability target (sum(y) = 1" in note and "s − y" in note
    z, y = np.array([0.3, -1.2, 2.0]), np.array([0.5, 1.5, 0.5])  # sum(y) = 2.5: the general result
    got = np.ravel(d.evaluate({"z": z, "y": y}))
    np.testing.assert_allclose(got, softmax(z) * 2.5 - y, rtol=1e-12)
    one_hot = np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(np.ravel(d.evaluate({"z": z, "y": one_hot})), softmax(z) - one_hot, rtol=1e-12)


def test_the_composition_is_differentiated_as_log_softmax():
    d = derive("-sum(y*log(softmax(z)))", "z", shapes=VECTOR, mode="reverse")
    assert any("log(softmax(...)) is read as log_softmax(...)" in note for note in d.notes)
    assert [str(s.rhs) for s in d.steps if s.kind == "introduce"][0] == "log_softmax(z)"
    (step,) = [s for s in d.steps if s.rule == "log-softmax"]
    assert str(step.rhs) == "(df/du1) - softmax(z)*sum((df/du1))"  # G − s·ΣG: nothing divided by s
    assert str(d.result) == "(softmax(z)*sum(y) - y).T"
    assert any(n.endswith("df/dz = softmax(z) - y") for n in d.notes)


def test_your_name_for_the_softmax_is_kept():
    """s = softmax(z); L = -sum(y*log(s)): the steps go through your s, and backprop answers in it."""
    d = derive("s = softmax(z); L = -sum(y*log(s))", "z", shapes=VECTOR, mode="reverse")
    introduced = {str(s.lhs): str(s.rhs) for s in d.steps if s.kind == "introduce"}
    assert introduced["s"] == "softmax(z)" and "log(s)" in introduced.values()
    assert not any("read as log_softmax" in note for note in d.notes)
    assert str(d.result) == "(s*sum(y) - y).T"
    assert any(n.endswith("dL/dz = s - y") for n in d.notes)
    forward = derive("s = softmax(z); L = -sum(y*log(s))", "z", shapes=VECTOR)
    assert forward.rule == "vector" and str(forward.result) == "sum(y)*softmax(z).T - y.T"
    assert "softmax" in [s.rule for s in forward.steps if s.kind == "differentiate"]  # diag(s) − s sᵀ, by name


@pytest.mark.parametrize(("axis", "words", "classic"), [
    (1, "Y·𝟙 (the sum of each row of Y)", "dL/dZ = softmax(Z, axis=1) - Y"),
    (0, "𝟙ᵀ·Y (the sum of each column of Y)", "dL/dZ = softmax(Z, axis=0) - Y"),
])
@pytest.mark.parametrize("spelling", ["log_softmax(Z, axis={axis})", "log(softmax(Z, axis={axis}))"])
def test_batch_cross_entropy_per_axis(axis, words, classic, spelling):
    text = f"L = -sum(Y*{spelling.format(axis=axis)})"
    d = derive(text, "Z", shapes={"Z": "N,k", "Y": "N,k"}, check=True)
    assert d.check.passed, d.check.failure
    (note,) = [n for n in d.notes if "classic" in n]
    assert words in note and note.endswith(classic)
    values = {"Z": RNG.normal(size=(5, 4)), "Y": RNG.uniform(size=(5, 4))}
    sums = np.sum(values["Y"], axis=axis, keepdims=True)
    expected = softmax(values["Z"], axis=axis) * sums - values["Y"]
    np.testing.assert_allclose(d.evaluate(values), expected, rtol=1e-12)


def test_cross_entropy_over_all_entries_of_a_matrix():
    d = derive("L = -sum(Y*log(softmax(Z)))", "Z", shapes={"Z": "N,k", "Y": "N,k"}, check=True)
    assert d.check.passed and str(d.result) == "softmax(Z)*sum(Y) - Y"
    assert any("over all N·k entries at once" in n and n.endswith("dL/dZ = softmax(Z) - Y") for n in d.notes)


def test_no_note_without_a_target():
    d = derive("sum(softmax(C, axis=1) * tanh(C))", "C", shapes={"C": "m,n"})
    assert not any("classic" in n for n in d.notes)
    d = derive("sum(log(softmax(z), 2)*y)", "z", shapes=VECTOR, check=True)  # a base-2 log: not fused
    assert d.check.passed and not any("read as log_softmax" in n for n in d.notes)


# -- log_softmax and logsumexp: values, as SciPy means them ----------------------------------------------

mpmath.mp.dps = 30


def _lse(values) -> float:
    return float(mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in values)))


def scipy_logsumexp(a, axis=None, keepdims=False):
    """scipy.special.logsumexp written out: log Σ exp over the axis, in 30 digits."""
    a = np.asarray(a, dtype=float)
    if axis is None:
        total = np.array(_lse(a.ravel()))
        return total.reshape((1,) * a.ndim) if keepdims else float(total)
    total = np.apply_along_axis(_lse, axis, a)
    return np.expand_dims(total, axis) if keepdims else total


def scipy_log_softmax(a, axis=None):
    return np.asarray(a, dtype=float) - scipy_logsumexp(a, axis=axis, keepdims=True)


ARRAYS = {"Z": "m,n", "z": "n", "v": "n", "u": "m", "c": "m,1", "r": "1,n", "T": "m,n"}
ARRAY_VALUES = {"Z": RNG.normal(size=(2, 3)), "z": RNG.normal(size=3), "v": RNG.normal(size=3),
                "u": RNG.normal(size=2), "c": RNG.normal(size=(2, 1)), "r": RNG.normal(size=(1, 3)),
                "T": RNG.normal(size=(2, 3))}


@pytest.mark.parametrize(("text", "expected"), [
    ("logsumexp(Z)", lambda a: scipy_logsumexp(a)),
    ("logsumexp(Z, axis=0)", lambda a: scipy_logsumexp(a, axis=0)),
    ("logsumexp(Z, axis=1)", lambda a: scipy_logsumexp(a, axis=1)),
    ("logsumexp(Z, axis=-1, keepdims=True)", lambda a: scipy_logsumexp(a, axis=1, keepdims=True)),
    ("logsumexp(Z, axis=0, keepdims=True)", lambda a: scipy_logsumexp(a, axis=0, keepdims=True)),
    ("logsumexp(Z, keepdims=True)", lambda a: scipy_logsumexp(a, keepdims=True)),
    ("logsumexp(z)", lambda a: scipy_logsumexp(a)),
    ("logsumexp(z, axis=0, keepdims=True)", lambda a: scipy_logsumexp(a, axis=0, keepdims=True)),
    ("log_softmax(Z)", lambda a: scipy_log_softmax(a)),
    ("log_softmax(Z, axis=0)", lambda a: scipy_log_softmax(a, axis=0)),
    ("log_softmax(Z, axis=-1)", lambda a: scipy_log_softmax(a, axis=1)),
    ("log_softmax(z)", lambda a: scipy_log_softmax(a)),
    ("softmax(Z, axis=0)", lambda a: np.exp(scipy_log_softmax(a, axis=0))),
    ("log(softmax(Z, axis=1))", lambda a: scipy_log_softmax(a, axis=1)),
])
def test_values_are_scipys(text, expected):
    name = "Z" if "Z" in text else "z"
    d = derive(text, name, shapes=ARRAYS)
    values = {name: ARRAY_VALUES[name]}
    want = expected(values[name])
    reference = reference_output(d, values)  # the oracle: NumPy reading the text
    assert np.shape(reference) == np.shape(want)
    np.testing.assert_allclose(reference, want, rtol=1e-12)
    translated = np.asarray(evaluate_expression(d.expression, values, d.symbols), dtype=float)  # the derivation's
    np.testing.assert_allclose(np.ravel(translated), np.ravel(want), rtol=1e-12)  # 1-D results stored as columns


def test_values_are_stable_for_large_logits():
    """The largest entry is taken out first: no overflow where exp(1000) would be inf."""
    z = np.array([1000.0, 999.0, -1000.0])
    offset = math.log1p(math.exp(-1) + math.exp(-2000))  # log Σ exp(z − 1000)
    for text in ("logsumexp(z)", "log_softmax(z)", "log(softmax(z))"):
        d = derive(text, "z", shapes={"z": "n"})
        value = np.ravel(evaluate_expression(d.expression, {"z": z}, d.symbols))
        want = [1000 + offset] if text == "logsumexp(z)" else (z - 1000) - offset
        np.testing.assert_allclose(value, want, rtol=1e-14)
        if text == "log(softmax(z))":  # NumPy reading the text literally underflows: exp(−2000) is 0, log 0 = −inf
            with pytest.raises(Undefined):
                reference_output(d, {"z": z})
        else:
            np.testing.assert_allclose(np.ravel(reference_output(d, {"z": z})), want, rtol=1e-14)
        gradient = np.asarray(d.evaluate({"z": z}), dtype=float)
        assert np.all(np.isfinite(gradient))
    d = derive("logsumexp(z)", "z", shapes={"z": "n"})
    np.testing.assert_allclose(np.ravel(d.evaluate({"z": z})), softmax(z), rtol=1e-12)


# -- gradients through every axis and keepdims variant, both modes -------------------------------------

GRADIENTS = [
    ("logsumexp(z)", "z"),
    ("logsumexp(z, axis=0, keepdims=True)", "z"),
    ("sum(logsumexp(z, axis=-1) * v)", "z"),
    ("logsumexp(Z)", "Z"),
    ("sum(logsumexp(Z, keepdims=True))", "Z"),
    ("sum(logsumexp(Z, axis=1) * u)", "Z"),
    ("sum(logsumexp(Z, axis=0) * v)", "Z"),
    ("sum(logsumexp(Z, axis=1, keepdims=True) * c)", "Z"),
    ("sum(logsumexp(Z, axis=0, keepdims=True) * r)", "Z"),
    ("sum(logsumexp(Z*v, axis=-1)**2)", "v"),
    ("logsumexp(Z, axis=1)", "Z"),
    ("log_softmax(z)", "z"),
    ("sum(log_softmax(z) * v)", "z"),
    ("sum(log_softmax(Z) * T)", "Z"),
    ("sum(log_softmax(Z, axis=0) * T)", "Z"),
    ("sum(log_softmax(Z, axis=1) * T)", "Z"),
    ("sum(log_softmax(Z, axis=-1) * tanh(Z))", "Z"),
    ("log_softmax(Z, axis=1)", "Z"),
    ("sum(log_softmax(Z*v, axis=1) * T)", "v"),
    ("softmax(z)", "z"),
    ("sum(softmax(Z) * T)", "Z"),
    ("sum(softmax(Z, axis=0) * T)", "Z"),
    ("softmax(Z, axis=-1)", "Z"),
    ("sum(gelu(z) * v) + sum(silu(Z))", "z"),
    ("sum(gelu(Z) * silu(Z))", "Z"),
]


@pytest.mark.parametrize("mode", ["auto", "reverse"])
@pytest.mark.parametrize(("text", "wrt"), GRADIENTS, ids=[g[0] for g in GRADIENTS])
def test_gradients_match_numpy(text, wrt, mode):
    d = derive(text, wrt, shapes=ARRAYS, mode=mode, check=True)
    assert d.check.passed, d.check.failure
    assert_matches_numpy(d, dict(ARRAY_VALUES), wrt)


@pytest.mark.parametrize("text", ["logsumexp(z)", "log_softmax(z)", "sum(log_softmax(z) * v)",
                                  "logsumexp(z, axis=0, keepdims=True)", "sum(logsumexp(z, axis=-1) * v)"])
def test_vectors_are_derived_forward_with_the_jacobian(text):
    d = derive(text, "z", shapes=ARRAYS, mode="forward", check=True)
    assert d.rule == "vector" and d.check.passed, d.check.failure
    rules = [s.rule for s in d.steps if s.kind == "differentiate"]
    assert "log-softmax" in rules or "logsumexp" in rules
    assert_jacobian_matches(d, dict(ARRAY_VALUES))


def test_the_forward_jacobians_read_as_in_the_textbooks():
    (step,) = [s for s in derive("log_softmax(z)", "z", shapes=ARRAYS).steps if s.kind == "differentiate"]
    assert str(step.rhs) == "I - 1*softmax(z).T" and step.rule == "log-softmax"  # I − 𝟙 sᵀ
    (step,) = [s for s in derive("logsumexp(z)", "z", shapes=ARRAYS).steps if s.kind == "differentiate"]
    assert str(step.rhs) == "softmax(z).T"


@pytest.mark.parametrize("text", ["logsumexp(z)", "sum(log_softmax(z) * v)", "sum(softmax(z) * v)"])
def test_written_out_entry_by_entry(text):
    d = derive(text, "z", shapes=ARRAYS, expand=3)
    assert d.expansion.equal


def test_the_axis_is_stated_in_words():
    steps = derive(ATTENTION, "Q", shapes=ATTENTION_SHAPES).steps
    (softmax_step,) = [s for s in steps if s.rule == "softmax"]
    assert "row-wise (axis=1): over each of the n rows, n entries each" in softmax_step.explanation
    steps = derive("sum(logsumexp(Z, axis=0) * v)", "Z", shapes=ARRAYS).steps
    (step,) = [s for s in steps if s.rule == "logsumexp"]
    assert "column-wise (axis=0): down each of the n columns, m entries each" in step.explanation
    text = " ".join(derive(BATCH_CROSS_ENTROPY, "W", shapes=BATCH_SHAPES).to_text(width=400).split())
    assert "is never formed, and nothing is divided by s; row-wise (axis=1): over each of the N rows" in text


def test_an_attention_head_with_your_names_reads_in_them():
    text = "S = Q@K.T/sqrt(d); P = softmax(S, axis=1); O = P@V"
    by_v = derive(text, "V", shapes=ATTENTION_SHAPES, check=True)
    assert by_v.check.passed and str(by_v.result) == "P.T*(dJ/dO)"
    by_q = derive(text, "Q", shapes=ATTENTION_SHAPES, check=True)
    assert by_q.check.passed
    # ∂J/∂Q = (P ⊙ G Vᵀ − P ⊙ ((P ⊙ G Vᵀ)𝟙)𝟙ᵀ) K / √d: each row's softmax Jacobian applied to G Vᵀ
    assert str(by_q.result) == "1/sqrt(d)*(((dJ/dO)*V.T) ⊙ P - ((((dJ/dO)*V.T) ⊙ P)*1*1.T) ⊙ P)*K"


@pytest.mark.parametrize("text", ["sum(logsumexp(Z, axis=1) * u)", "sum(log_softmax(Z, axis=1) * T)",
                                  "logsumexp(z)", "log_softmax(z)"])
def test_every_format_renders_the_family(text):
    d = derive(text, "Z" if "Z" in text else "z", shapes=ARRAYS)
    name = "logsumexp" if "logsumexp" in text else "log_softmax"
    assert f"{name}(" in d.to_text()
    assert r"\operatorname{" + name.replace("_", r"\_") + "}" in d.to_latex()
    assert_renders(d)


@pytest.mark.parametrize(("text", "error", "message"), [
    ("logsumexp(Z, axis=2)", ShapeError, r"logsumexp\(\): axis 2 is out of range for an array of shape \(m, n\)"),
    ("log_softmax(z, axis=-2)", ShapeError, r"log_softmax\(\): axis -2 is out of range"),
    ("log_softmax(Z, keepdims=True)", ParseError, r"log_softmax\(\) takes no keyword argument 'keepdims'"),
    ("logsumexp(Z, axis=x)", ParseError, r"axis= takes a whole number"),
    ("logsumexp(Z, ddof=1)", ParseError, r"takes no keyword argument 'ddof' \(it takes axis=, keepdims=\)"),
])
def test_bad_arguments_are_clear_errors(text, error, message):
    with pytest.raises(error, match=message):
        derive(text, "Z" if "Z" in text else "z", shapes=ARRAYS)


def test_one_number():
    """The softmax of one number is 1, its log 0, its logsumexp itself: as SciPy computes them."""
    assert derive("log_softmax(x) + logsumexp(x)", "x").result == 1
    assert derive("logsumexp(x)**2", "x", check=True).check.passed


# -- GELU and SiLU ---------------------------------------------------------------------------------------


def test_gelu_is_exact_not_the_tanh_approximation():
    d = derive("gelu(x)", "x", check=True)
    assert d.check.passed, d.check.failure
    value = float(evaluate_expression(d.expression, {"x": 1.0}, d.symbols))
    phi = 0.5 * (1 + math.erf(1 / math.sqrt(2)))  # x·Φ(x) at x = 1
    tanh_form = 0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * (1 + 0.044715)))
    assert value == pytest.approx(phi, rel=1e-15) and abs(value - tanh_form) > 1e-4
    assert float(reference_output(d, {"x": 1.0})) == pytest.approx(phi, rel=1e-15)


@pytest.mark.parametrize(("name", "definition", "latex"), [
    ("gelu", lambda x: x * (1 + sympy.erf(x / sympy.sqrt(2))) / 2, r"\operatorname{GELU}"),
    ("silu", lambda x: x / (1 + sympy.exp(-x)), r"\operatorname{SiLU}"),
])
def test_activation_derivatives_are_those_of_their_definitions(name, definition, latex):
    d = derive(f"{name}(x**2)", "x", check=True)
    assert d.check.passed, d.check.failure
    x = sympy.Symbol("x", real=True)
    expected = sympy.diff(definition(x**2), x)
    for point in (-1.7, -0.3, 0.4, 2.1):
        got = float(d.evaluate({"x": point}))
        assert got == pytest.approx(float(expected.subs(x, point)), rel=1e-12)
    assert latex in d.to_latex() and f"{name}(" in d.to_text()
    assert [s.rule for s in d.steps if s.kind == "differentiate"] == ["power", name]


# -- binary cross-entropy with logits ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [BCE_SOFTPLUS, BCE_SIGMOID])
@pytest.mark.parametrize("mode", ["auto", "reverse"])
def test_binary_cross_entropy_with_logits_is_sigmoid_minus_y_over_n(text, mode):
    """The classic result: ∂/∂w mean(BCE(σ(Xw), y)) = Xᵀ(σ(Xw) − y)/N, whichever way the loss is written."""
    d = derive(text, "w", shapes=BCE_SHAPES, mode=mode, check=True)
    assert d.check.passed, d.check.failure
    logits = "X*w" if d.rule == "vector" else "z"
    assert str(d.result) == f"1/N*(sigmoid({logits}) - y).T*X"
    values = values_for(BCE_SHAPES)
    values["y"] = (RNG.uniform(size=5) > 0.5).astype(float)
    X, w, y = values["X"], values["w"], values["y"]
    np.testing.assert_allclose(np.ravel(d.evaluate(values)), X.T @ (sigmoid(X @ w) - y) / 5, rtol=1e-12)
