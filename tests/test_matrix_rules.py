"""Every [[vjp]] rule of rules/matrix.toml against finite differences, and the matrix functions."""

import numpy as np
import pytest
import sympy

from matcalc_sym import ShapeError, derive
from matcalc_sym.ruletable import default_table
from tests.helpers import assert_gradient_matches

RNG = np.random.default_rng(21)
_M = RNG.normal(size=(3, 3))
SPD = _M @ _M.T + 3 * np.eye(3)  # well conditioned, positive determinant
VALUES = {"A": SPD, "X": SPD + np.eye(3), "B": RNG.normal(size=(3, 3)), "C": RNG.normal(size=(2, 3)),
          "x": RNG.normal(size=3), "v": RNG.normal(size=3), "u": RNG.normal(size=2), "w": RNG.normal(size=3),
          "b": RNG.normal(size=3), "k": RNG.normal(size=(3, 1)), "s": 0.4}
SHAPES = {"A": "n,n", "X": "n,n", "B": "n,n", "C": "m,n", "x": "n", "v": "n", "u": "m", "w": "n", "b": "n",
          "k": "n,1"}

#: one derivation exercising each rule: (expression, wrt)
EXAMPLES = {
    "elementwise-vjp": ("sum(tanh(B) * B + b)", "B"),
    "matmul-left": ("sum(B @ X)", "B"),
    "matmul-right": ("sum(B @ X)", "X"),
    "matvec-matrix": ("sum(sin(C @ w))", "C"),
    "matvec-vector": ("sum(sin(B @ w))", "w"),
    "vecmat-vector": ("sum(sin(w @ B))", "w"),
    "vecmat-matrix": ("sum(sin(w @ B))", "B"),
    "transpose": ("sum(B.T @ X)", "B"),
    "vector-transpose": ("sum(tanh(B @ w.T))", "w"),
    "sum": ("sum(B * B)", "B"),
    "mean": ("mean(B * B)", "B"),
    "identity": ("s", "s"),
    "trace": ("trace(A @ X)", "X"),
    "determinant": ("det(X)", "X"),
    "log-determinant": ("logdet(X)", "X"),
    "inverse": ("x @ inv(A) @ x", "A"),
    "norm": ("norm(B)", "B"),
    "norm1": ("norm1(B)", "B"),
    "diag-of-vector": ("sum(diag(v) @ B)", "v"),
    "diag-of-matrix": ("sum(diag(B) * x)", "B"),
    "outer-left": ("sum(sin(outer(u, v)))", "u"),
    "outer-right": ("sum(sin(outer(u, v)))", "v"),
    "softmax": ("sum(softmax(C, axis=1) * tanh(C))", "C"),
    "max-reduction": ("sum(max(C, axis=1) * u)", "C"),
    "min-reduction": ("sum(min(B, axis=0) * x)", "B"),
    "product-reduction": ("sum(prod(C, axis=0))", "C"),
    "variance": ("sum(var(C, axis=1, ddof=1) * u)", "C"),
    "standard-deviation": ("std(B)", "B"),
    "index-vector": ("sum(tanh(x[:1])) * x[-1]", "x"),
    "index-matrix": ("sum(tanh(C[0]) * w) + C[-1, -1] * sum(C[:, 0])", "C"),
    "kron-left": ("sum(sin(kron(C, B)))", "C"),
    "kron-right": ("sum(sin(kron(C, B)))", "B"),
    "matrix-power": ("sum(sin(matrix_power(B, 3)))", "B"),
    "log-softmax": ("sum(log_softmax(C, axis=1) * tanh(C))", "C"),
    "logsumexp": ("sum(logsumexp(C, axis=0) * x)", "C"),
}


def test_every_rule_has_an_example():
    assert {rule.id for rule in default_table().vjps} == set(EXAMPLES)


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_rule_agrees_with_finite_differences(rule_id):
    text, wrt = EXAMPLES[rule_id]
    d = derive(text, wrt, shapes=SHAPES, mode="reverse", layout="denominator")
    assert rule_id in [s.rule for s in d.steps if s.kind == "differentiate"]
    assert_gradient_matches(d, VALUES, wrt)


@pytest.mark.parametrize(("text", "wrt", "cookbook"), [
    ("logdet(X)", "X", "(X**(-1)).T"),
    ("det(X)", "X", "Determinant(X)*(X**(-1)).T"),
    ("trace(A@X)", "X", "A.T"),
    ("x@inv(A)@x", "A", "-(A**(-1)).T*x*x.T*(A**(-1)).T"),
    ("norm(x)", "x", "1/norm(x)*x.T"),
])
def test_results_read_like_the_matrix_cookbook(text, wrt, cookbook):
    d = derive(text, wrt, shapes=SHAPES)
    assert str(d.result) == cookbook
    assert [s.rule for s in d.steps if s.kind == "differentiate"]


def test_a_power_minus_one_of_a_square_matrix_is_element_wise_with_a_note():
    """NumPy's A**-1 is 1/A entry by entry; the inverse is inv(A). Never a silent change of meaning."""
    d = derive("sum(A**-1)", "A", shapes=SHAPES)
    assert "inverse" not in [s.rule for s in d.steps if s.kind == "differentiate"]
    assert any("A**-1 is element-wise" in note and "inv(A)" in note for note in d.notes)
    a = np.asarray(VALUES["A"], dtype=float)
    np.testing.assert_allclose(d.evaluate(VALUES), -1 / a**2, rtol=1e-12)  # d/dA Σ 1/Aᵢⱼ = −1/Aᵢⱼ²
    assert_gradient_matches(d, VALUES, "A")
    assert derive("sum(A*X**-1)", "X", shapes={"A": "n,n", "X": "n,n"}, check=True).check.passed


def test_eye_and_ones_are_constants():
    d = derive("sum((eye(n) + B) @ ones(n))", "B", shapes=SHAPES)
    assert_gradient_matches(d, VALUES, "B")


@pytest.mark.parametrize(("text", "message"), [
    ("det(C)", r"det\(\) needs a square matrix \(n,n\), got shape \(m, n\)"),
    ("inv(x)", r"inv\(\) needs a square matrix"),
    ("trace(x)", r"trace\(\) needs a square matrix"),
    ("outer(B, x)", r"outer\(\) needs two vectors"),
])
def test_wrong_use_is_a_shape_error(text, message):
    with pytest.raises(ShapeError, match=message):
        derive(text, shapes=SHAPES)


def test_logdet_gradient_is_the_inverse_transpose_numerically():
    d = derive("logdet(X)", "X", shapes=SHAPES)
    assert np.allclose(d.evaluate(VALUES), np.linalg.inv(VALUES["X"]).T)
    assert not isinstance(d.result, sympy.ZeroMatrix)
