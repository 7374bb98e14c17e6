"""DESIGN.md examples 9–15: Jacobians, the element-wise diagonal condition, the neuron and its loss."""

import numpy as np
import pytest
import sympy
from sympy import Identity, MatrixSymbol

from matcalc_sym import ShapeError, derive
from matcalc_sym.arrays import Diag, Ones
from tests.helpers import assert_jacobian_matches

n = sympy.Symbol("n", integer=True, positive=True)
w, x = MatrixSymbol("w", n, 1), MatrixSymbol("x", n, 1)
z, b = sympy.symbols("z b", real=True)
VECTORS = {"w": "n", "x": "n"}
RNG = np.random.default_rng(3)
VALUES = {"w": RNG.normal(size=4), "x": RNG.uniform(0.5, 2, size=4), "z": 0.7, "b": 0.4,
          "X": RNG.normal(size=(6, 4)), "y": RNG.normal(size=6)}


def rules(d, kind="differentiate"):
    return [s.rule for s in d.steps if s.kind == kind]


@pytest.mark.parametrize(
    ("text", "wrt", "expected"),
    [
        ("w + x", "w", Identity(n)),
        ("w + x", "x", Identity(n)),
        ("w - x", "w", Identity(n)),
        ("w - x", "x", -Identity(n)),
        ("w*x", "w", Diag(x)),
        ("w*x", "x", Diag(w)),
    ],
)
def test_example_9_element_wise_binary_operators(text, wrt, expected):
    d = derive(text, wrt, shapes=VECTORS)
    assert d.rule == "vector"
    assert d.result == expected
    (step,) = [s for s in d.steps if s.kind == "differentiate"]
    assert step.rule == "element-wise-diagonal"
    assert "element-wise diagonal condition" in step.explanation
    assert step.shapes == {"jacobian": "n×n"}
    assert_jacobian_matches(d, VALUES)


def test_example_9_division_is_diagonal():
    d = derive("w/x", "x", shapes=VECTORS)
    assert isinstance(d.result, Diag)
    assert str(d.result) == "diag(-w/x**2)"
    assert_jacobian_matches(d, VALUES)
    assert_jacobian_matches(derive("w/x", "w", shapes=VECTORS), VALUES)


@pytest.mark.parametrize(
    ("text", "wrt", "expected", "rule"),
    [
        ("x + z", "x", Identity(n), "element-wise-diagonal"),
        ("x + z", "z", Ones(n, 1), "scalar-expansion"),
        ("x*z", "x", z * Identity(n), "element-wise-diagonal"),
        ("x*z", "z", x, "scalar-expansion"),
    ],
)
def test_example_10_scalar_expansion(text, wrt, expected, rule):
    d = derive(text, wrt, shapes={"x": "n"})
    assert d.result == expected
    assert rules(d) == [rule]
    assert_jacobian_matches(d, VALUES)


def test_example_11_sum_reductions():
    d = derive("sum(x)", "x", shapes={"x": "n"})
    assert d.result == Ones(1, n) and str(d.result) == "1.T"
    assert rules(d) == ["sum-reduction"]
    d = derive("sum(x*z)", "x", shapes={"x": "n"})
    assert d.result == z * Ones(1, n)
    assert_jacobian_matches(d, VALUES)
    d = derive("sum(x*z)", "z", shapes={"x": "n"})
    assert str(d.result) == "sum(x)"
    assert_jacobian_matches(d, VALUES)


@pytest.mark.parametrize("text", ["dot(w, x)", "w@x"])
def test_example_12_dot_product_via_element_wise_product_and_sum(text):
    d = derive(text, "w", shapes=VECTORS)
    introduced = [(str(s.lhs), str(s.rhs)) for s in d.steps if s.kind == "introduce"]
    assert introduced == [("u1", "w ⊙ x"), ("y", "sum(u1)")]
    assert rules(d) == ["element-wise-diagonal", "sum-reduction"]
    assert d.result == x.T
    (combine,) = [s for s in d.steps if s.kind == "combine"]
    assert combine.shapes["factors"] == "(1×n) = (1×n)(n×n)"
    assert "𝟙ᵀ·diag(b) = bᵀ" in combine.explanation
    assert_jacobian_matches(d, VALUES)


def test_example_13_neuron_activation():
    d = derive("max(0, dot(w, x) + b)", "w", shapes=VECTORS)
    assert isinstance(d.result, sympy.Piecewise)
    (active, active_condition), (inactive, _) = d.result.args
    assert active == x.T
    assert inactive == sympy.ZeroMatrix(1, n)
    assert str(active_condition) == "b + w·x > 0"
    assert "relu" in rules(d)
    for bias in (0.4, -50.0):  # one point on each side of the kink
        assert_jacobian_matches(d, dict(VALUES, b=bias))
    db = derive("max(0, dot(w, x) + b)", "b", shapes=VECTORS)
    assert db.result.args[0][0] == 1 and db.result.args[1][0] == 0
    assert db.evaluate(dict(VALUES, b=-50.0)) == 0.0


def test_example_14_vector_of_functions_of_a_scalar():
    d = derive("[log(x**2), sin(3*x)]", "x")
    xs = sympy.Symbol("x", real=True)
    assert d.result == sympy.ImmutableMatrix([[2 / xs], [3 * sympy.cos(3 * xs)]])
    assert d.rule == "vector"
    (vector,) = [s for s in d.steps if s.rule == "vector chain rule"]
    assert "g = [u1, u3]" in vector.explanation and "element-wise diagonal condition" in vector.explanation
    assert vector.shapes["factors"] == "(2×1) = (2×2)(2×1)"
    u1, u3 = sympy.symbols("u1 u3", real=True)
    assert vector.rhs == sympy.ImmutableMatrix([[2 * xs / u1], [3 * sympy.cos(u3)]])


LOSS_SHAPES = {"X": "N,n", "y": "N", "w": "n"}


def test_example_15_loss_gradient_by_w_is_the_papers_closed_form():
    d = derive("mean((y - max(0, X@w + b))**2)", "w", shapes=LOSS_SHAPES)
    assert d.rule == "vector"
    assert rules(d)[0] == "matrix-vector-product"
    assert d.evaluate(VALUES).shape == (1, 4)
    X, y, wv, bv = VALUES["X"], VALUES["y"], VALUES["w"], VALUES["b"]
    z_ = X @ wv + bv
    active = z_ > 0
    expected = (2 / len(y)) * ((z_ - y) * active) @ X  # (2/N) Σ_active e_i x_iᵀ
    assert np.allclose(d.evaluate(VALUES), expected[None, :])
    assert_jacobian_matches(d, VALUES)
    assert "Max" not in str(d.result)  # max(0, z) is z on the active branch


def test_example_15_loss_gradient_by_b():
    d = derive("mean((y - max(0, X@w + b))**2)", "b", shapes=LOSS_SHAPES)
    X, y, wv, bv = VALUES["X"], VALUES["y"], VALUES["w"], VALUES["b"]
    z_ = X @ wv + bv
    assert np.isclose(d.evaluate(VALUES), (2 / len(y)) * np.sum((z_ - y) * (z_ > 0)))
    assert_jacobian_matches(d, VALUES)


def test_denominator_layout_transposes():
    d = derive("dot(w, x)", "w", shapes=VECTORS, layout="denominator")
    assert d.result == x and d.layout == "denominator"
    assert_jacobian_matches(d, VALUES)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ShapeError, match=r"\(n,\) and \(m,\)"):
        derive("w + x", "w", shapes={"w": "n", "x": "m"})


def test_integer_dimensions():
    d = derive("sum(w*w)", "w", shapes={"w": "3"})
    assert_jacobian_matches(d, {"w": np.array([1.0, -2.0, 0.5])})
