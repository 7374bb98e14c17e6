"""DESIGN.md examples 16 and 17: backprop through an RNN cell and a two-layer network."""

import numpy as np
import pytest

from matcalc_sym import DeriveError, derive
from tests.helpers import assert_gradient_matches, assert_jacobian_matches

RNN = "c = tanh(Wc@cp + Wx@x + b)"
RNN_SHAPES = {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}
RNG = np.random.default_rng(5)
RNN_VALUES = {"Wc": RNG.normal(size=(3, 3)), "cp": RNG.normal(size=(3, 4)), "Wx": RNG.normal(size=(3, 2)),
              "x": RNG.normal(size=(2, 4)), "b": RNG.normal(size=(3, 1)), "dJ/dc": RNG.normal(size=(3, 4))}

NET = "Zh = X@Wh.T + bh; Ah = tanh(Zh); Zo = Ah@Wout.T + bout; Ao = tanh(Zo); L = sum((Ao - Y)**2)/(3*n)"
NET_SHAPES = {"X": "n,3", "Wh": "5,3", "bh": "5", "Wout": "3,5", "bout": "3", "Y": "n,3"}
NET_VALUES = {"X": RNG.normal(size=(4, 3)), "Wh": RNG.normal(size=(5, 3)), "bh": RNG.normal(size=5),
              "Wout": RNG.normal(size=(3, 5)), "bout": RNG.normal(size=3), "Y": RNG.normal(size=(4, 3))}


@pytest.mark.parametrize(("wrt", "text", "shape"), [
    ("Wx", "((1 - c**2) ⊙ (dJ/dc))*x.T", (3, 2)),
    ("Wc", "((1 - c**2) ⊙ (dJ/dc))*cp.T", (3, 3)),
    ("cp", "Wc.T*((1 - c**2) ⊙ (dJ/dc))", (3, 4)),
    ("b", "((1 - c**2) ⊙ (dJ/dc))*1", (3, 1)),
])
def test_example_16_rnn_cell(wrt, text, shape):
    d = derive(RNN, wrt, shapes=RNN_SHAPES)
    assert d.rule == "backprop" and d.layout == "denominator"
    assert str(d.result) == text
    assert d.evaluate(RNN_VALUES).shape == shape
    assert_gradient_matches(d, RNN_VALUES, wrt)


def test_example_16_steps_show_shapes_and_the_avoided_jacobian():
    d = derive(RNN, "Wx", shapes=RNN_SHAPES)
    introduce = [s for s in d.steps if s.kind == "introduce"]
    assert [s.shapes["equation"] for s in introduce] == [
        "nc×m = (nc×nc)@(nc×m)", "nc×m = (nc×nx)@(nx×m)",
        "nc×m = (nc×m) + (nc×m)", "nc×m = (nc×m) + (nc×1)", "nc×m = tanh(nc×m)"]
    (vjp,) = [s for s in d.steps if s.rule == "vector-jacobian-product"]
    assert vjp.shapes["generalized_jacobian"] == "(nc×m)×(nc×nx)"
    assert "never forms it" in vjp.explanation
    assert any("upstream gradient dJ/dc" in note for note in d.notes)


def test_example_16_generalized_jacobian_size_in_bytes():
    shapes = {"Wc": "1024,1024", "cp": "1024,64", "Wx": "1024,64", "x": "64,64", "b": "1024,1"}
    d = derive(RNN, "Wx", shapes=shapes)
    (vjp,) = [s for s in d.steps if s.rule == "vector-jacobian-product"]
    assert "4,294,967,296 entries (16 GiB as float32)" in vjp.explanation


def test_example_17_two_layer_network_all_four_gradients():
    d = derive(NET, "Wout, bout, Wh, bh", shapes=NET_SHAPES)
    assert d.rule == "backprop" and d.layout == "denominator"
    assert str(d.gradients["Wout"]) == "(2/(3*n))*((1 - Ao**2) ⊙ (Ao - Y)).T*Ah"
    assert str(d.gradients["bout"]) == "(2/(3*n))*((1 - Ao**2) ⊙ (Ao - Y)).T*1"
    values = d.evaluate(NET_VALUES)
    assert {k: v.shape for k, v in values.items()} == {"Wout": (3, 5), "bout": (3, 1), "Wh": (5, 3), "bh": (5, 1)}
    for name in ("Wout", "bout", "Wh", "bh"):
        assert_gradient_matches(d, NET_VALUES, name, got=values[name])


def test_example_17_forward_pass_shapes():
    d = derive(NET, "Wout", shapes=NET_SHAPES)
    equations = [s.shapes["equation"] for s in d.steps if s.kind == "introduce"]
    assert equations == ["3×5 = (5×3)ᵀ", "n×5 = (n×3)@(3×5)", "n×5 = (n×5) + (5)", "n×5 = tanh(n×5)",
                         "5×3 = (3×5)ᵀ", "n×3 = (n×5)@(5×3)", "n×3 = (n×3) + (3)", "n×3 = tanh(n×3)",
                         "n×3 = (n×3) − (n×3)", "n×3 = (n×3)^2", "1 = sum(n×3)", "1 = (1)/(3*n)"]


def test_each_use_adds_a_contribution():
    d = derive("sum(tanh(X@W) * (X@W))", "W", shapes={"X": "n,3", "W": "3,2"})
    sums = [s for s in d.steps if s.rule == "adjoint-sum"]
    assert sums and "total-derivative rule seen backwards" in sums[0].explanation
    values = {"X": RNG.normal(size=(4, 3)), "W": RNG.normal(size=(3, 2))}
    assert_gradient_matches(d, values, "W")


VECTOR_CASES = [
    ("sum(x*z)", "x", {"x": "n"}),
    ("sum(x*z)", "z", {"x": "n"}),
    ("dot(w, x)", "w", {"w": "n", "x": "n"}),
    ("max(0, dot(w, x) + b)", "w", {"w": "n", "x": "n"}),
    ("max(0, dot(w, x) + b)", "b", {"w": "n", "x": "n"}),
    ("mean((y - max(0, X@w + b))**2)", "w", {"X": "N,n", "y": "N", "w": "n"}),
    ("mean((y - max(0, X@w + b))**2)", "b", {"X": "N,n", "y": "N", "w": "n"}),
]
VECTOR_VALUES = {"w": RNG.normal(size=4), "x": RNG.normal(size=4), "z": 0.3, "b": 0.2,
                 "X": RNG.normal(size=(6, 4)), "y": RNG.normal(size=6)}


@pytest.mark.parametrize(("text", "wrt", "shapes"), VECTOR_CASES)
def test_reverse_mode_gives_forward_modes_numbers(text, wrt, shapes):
    forward = derive(text, wrt, shapes=shapes, mode="forward")
    reverse = derive(text, wrt, shapes=shapes, mode="reverse")
    assert reverse.rule == "backprop" and forward.rule == "vector"
    assert np.allclose(np.asarray(forward.evaluate(VECTOR_VALUES), dtype=float),
                       np.asarray(reverse.evaluate(VECTOR_VALUES), dtype=float))
    assert_jacobian_matches(reverse, VECTOR_VALUES)


def test_auto_mode_picks_reverse_for_matrices_and_forward_refuses():
    assert derive("sum(X@w)", "w", shapes={"X": "m,n", "w": "n"}).rule == "vector"
    assert derive("sum(X@W)", "W", shapes={"X": "m,n", "W": "n,k"}).rule == "backprop"
    with pytest.raises(DeriveError, match="reverse"):
        derive("sum(X@W)", "W", shapes={"X": "m,n", "W": "n,k"}, mode="forward")


def test_numerator_layout_transposes_matrix_gradients():
    d = derive("sum(X@W)", "W", shapes={"X": "m,n", "W": "n,k"}, layout="numerator")
    values = {"X": RNG.normal(size=(2, 3)), "W": RNG.normal(size=(3, 4))}
    assert d.layout == "numerator" and d.evaluate(values).shape == (4, 3)


def test_a_one_by_one_array_broadcast_everywhere():
    d = derive("sum(tanh(A + B))", "B", shapes={"A": "n,n", "B": "1,1"})
    values = {"A": RNG.normal(size=(3, 3)), "B": RNG.normal(size=(1, 1))}
    assert d.evaluate(values).shape == (1, 1)
    assert_gradient_matches(d, values, "B")
