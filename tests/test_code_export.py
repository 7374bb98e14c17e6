"""Exported NumPy code runs and passes its own gradient check, for every DESIGN example and matrix function."""

import numpy as np
import pytest

from matcalc_sym import derive

CASES = [
    ("sin(x**2)", "x", {}),
    ("log(sin(x**3)**2)", "x", {}),
    ("x + x**2", "x", {}),
    ("sin(x + x**2)", "x", {}),
    ("x * x**2", "x", {}),
    ("9*(x + x**2)", "x", {}),
    ("3*x**2*y", "x,y", {}),
    ("[3*x**2*y, 2*x + y**8]", "x,y", {}),
    ("w*x", "w", {"w": "n", "x": "n"}),
    ("w/x", "x", {"w": "n", "x": "n"}),
    ("x*z", "z", {"x": "n"}),
    ("sum(x*z)", "x", {"x": "n"}),
    ("dot(w, x)", "w", {"w": "n", "x": "n"}),
    ("max(0, dot(w, x) + b)", "w", {"w": "n", "x": "n"}),
    ("[log(x**2), sin(3*x)]", "x", {}),
    ("mean((y - max(0, X@w + b))**2)", "w", {"X": "N,n", "y": "N", "w": "n"}),
    ("c = tanh(Wc@cp + Wx@x + b)", "Wx", {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}),
    ("c = tanh(Wc@cp + Wx@x + b)", "b", {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}),
    ("Zh = X@Wh.T + bh; Ah = tanh(Zh); Zo = Ah@Wout.T + bout; Ao = tanh(Zo); L = sum((Ao - Y)**2)/(3*n)",
     "Wout,bout,Wh,bh", {"X": "n,3", "Wh": "5,3", "bh": "5", "Wout": "3,5", "bout": "3", "Y": "n,3"}),
    ("logdet(X)", "X", {"X": "n,n"}),
    ("det(X)", "X", {"X": "n,n"}),
    ("trace(A@X)", "X", {"A": "n,n", "X": "n,n"}),
    ("x@inv(A)@x", "A", {"A": "n,n", "x": "n"}),
    ("norm(x)", "x", {"x": "n"}),
    ("norm(B)", "B", {"B": "m,n"}),
    ("norm1(x)", "x", {"x": "n"}),
    ("sum(diag(v) @ B)", "v", {"v": "n", "B": "n,n"}),
    ("sum(diag(B) * x)", "B", {"B": "n,n", "x": "n"}),
    ("sum(sin(outer(u, v)))", "u", {"u": "m", "v": "n"}),
    ("sum(A**-1)", "A", {"A": "n,n"}),
]


def load(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "exported.py", "exec"), namespace)  # the test runs the code the tool generated
    return namespace


@pytest.mark.parametrize(("text", "wrt", "shapes"), CASES, ids=[c[0][:40] + " / " + c[1] for c in CASES])
def test_exported_code_passes_its_own_gradient_check(text, wrt, shapes):
    code = derive(text, wrt, shapes=shapes).to_numpy()
    assert "def f_and_grad(" in code and "def check_gradient(" in code
    assert "import sympy" not in code and "matcalc_sym" not in code.split('"""', 2)[2]
    module = load(code)
    assert module["check_gradient"]() < 1e-5


def test_exported_code_asserts_shapes():
    module = load(derive("x@inv(A)@x", "A", shapes={"A": "n,n", "x": "n"}).to_numpy())
    with pytest.raises(AssertionError, match="A: axis 0 must be n"):
        module["f_and_grad"](x=np.ones(3), A=np.eye(4))


def test_a_wrong_gradient_fails_the_check():
    import dataclasses

    import sympy

    d = derive("x@inv(A)@x", "A", shapes={"A": "n,n", "x": "n"})
    wrong = dataclasses.replace(d, result=-d.result, gradients={"A": -d.result})
    with pytest.raises(AssertionError, match="gradient check failed"):
        load(wrong.to_numpy())["check_gradient"]()
    assert isinstance(d.result, sympy.Basic)


def test_the_exported_value_is_numpy_reading_the_text():
    """f_and_grad's value comes from the text (reference_code), shaped as NumPy shapes it."""
    module = load(derive("tanh(M@v) * v", "v", shapes={"M": "n,n", "v": "n"}).to_numpy())
    m, v = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -1.0])
    value, derivative = module["f_and_grad"](M=m, v=v)
    np.testing.assert_allclose(value, np.tanh(m @ v) * v, rtol=1e-14)
    assert value.shape == (2,) and derivative.shape == (2, 2)


def test_the_exported_check_fails_when_the_translation_is_corrupted(monkeypatch):
    """check_gradient differentiates the text, so a translation that broadcasts a 1-D vector as a
    column against a square matrix (the old bug) fails it; the exported value itself stays right."""
    from matcalc_sym import reverse_rules, symbolic
    from tests.test_oracle import column_guess_broadcast_to, column_guess_unbroadcast

    text, shapes = "sum(M*v)", {"M": "n,n", "v": "n"}
    assert load(derive(text, "v", shapes=shapes).to_numpy())["check_gradient"]() < 1e-5
    monkeypatch.setattr(symbolic, "broadcast_to", column_guess_broadcast_to)
    monkeypatch.setattr(reverse_rules, "broadcast_to", column_guess_broadcast_to)
    monkeypatch.setattr(reverse_rules, "unbroadcast", column_guess_unbroadcast)
    module = load(derive(text, "v", shapes=shapes).to_numpy())
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert module["f_and_grad"](M=m, v=np.array([1.0, 2.0]))[0] == 1 + 4 + 3 + 8
    with pytest.raises(AssertionError, match="gradient check failed"):
        module["check_gradient"]()


def test_an_upstream_gradient_has_the_output_s_numpy_shape():
    module = load(derive("tanh(W@x)", "W", shapes={"W": "m,n", "x": "n"}).to_numpy())
    assert module["SHAPES"][module["UPSTREAM"]] == ("m",)
    assert module["check_gradient"]() < 1e-5
