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
