"""Issue 18: the tool's answer is the form a textbook writes, not just a number that agrees.

TEXTBOOK is a table of standard results (the Matrix Cookbook's traces, determinants, inverses,
quadratic forms and norms; Parr & Howard's scalar, vector and neuron gradients; least squares,
logistic regression, softmax cross-entropy, the two-layer net and the RNN cell). Each expected
form is built here with SymPy's constructors, over the derivation's own symbols, and compared
with the result as a tree modulo the order of commutative arguments (`canonical`): X + X is not
2X, xᵀA + xᵀAᵀ is not xᵀ(A + Aᵀ). Every case is also right against finite differences of NumPy
reading the text (`check=True`, and tests/helpers.py), and against sympy.diff when scalar.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from sympy import Identity, Inverse, Piecewise, Transpose, ZeroMatrix

from matcalc_sym import derive
from matcalc_sym.arrays import Diag, Elementwise, Ones, ReduceSum, element_of
from matcalc_sym.functions import sigmoid
from matcalc_sym.matfuncs import Norm
from matcalc_sym.operations.matrix_power import MatrixPower
from tests.helpers import assert_equals_sympy_diff, assert_gradient_matches, assert_jacobian_matches

#: gallery examples of this issue: (title, expression, wrt, shapes)
WORKED_EXAMPLES = [
    ("Quadratic form xᵀAx by x: xᵀ(A + Aᵀ)", "x@A@x", "x", {"x": "n", "A": "n,n"}),
    ("tr(XᵀX) by X: 2X", "trace(X.T@X)", "X", {"X": "n,n"}),
    ("Least squares ‖Ax − b‖² by x: 2(Ax − b)ᵀA", "sum((A@x - b)**2)", "x", {"A": "m,n", "x": "n", "b": "m"}),
    ("tr(XᵀAX) by X: (A + Aᵀ)X", "trace(X.T@A@X)", "X", {"X": "n,n", "A": "n,n"}),
    ("Two-layer ReLU net by W1: the mask stays element-wise",
     "h = max(0, W1@x + b1); L = sum((W2@h - y)**2)", "W1", {"W1": "h,n", "x": "n", "b1": "h", "W2": "m,h", "y": "m"}),
]

V = {"x": "n"}
VA = {"x": "n", "A": "n,n"}
LS = {"A": "m,n", "x": "n", "b": "m"}
SQ = {"X": "n,n"}
SQA = {"X": "n,n", "A": "n,n"}
LOGISTIC = {"X": "N,n", "w": "n", "y": "N"}
NET = {"W1": "h,n", "x": "n", "b1": "h", "W2": "m,h", "y": "m"}
LAYER_NORM = "mu = mean(x); v = mean((x - mu)**2); y = gamma*(x - mu)/sqrt(v + eps) + beta; L = sum(g*y)"
LAYER_NORM_SHAPES = {"x": "n", "gamma": "n", "beta": "n", "g": "n"}


def ew(body, like) -> Elementwise:
    """The element-wise array with entries `body`, shaped like `like`."""
    return Elementwise(body, *like.shape)


E = element_of
T = Transpose


def mm(*factors) -> sympy.MatMul:
    """A product as written (SymPy's `*` would rewrite (X⁻¹)ᵀ as (Xᵀ)⁻¹)."""
    return sympy.MatMul(*factors)


def _t(name):
    return lambda s: s[name]


#: (title, expression, wrt, shapes, textbook form as a function of the derivation's symbols)
TEXTBOOK = [
    # -- scalar (Parr & Howard §2-4) ---------------------------------------------------------------
    ("d/dx sin(x²) = 2x cos(x²)", "sin(x**2)", "x", {}, lambda s: 2 * s["x"] * sympy.cos(s["x"] ** 2)),
    ("d/dx (x + x²) = 2x + 1", "x + x**2", "x", {}, lambda s: 2 * s["x"] + 1),
    ("d/dx x³ = 3x²", "x**3", "x", {}, lambda s: 3 * s["x"] ** 2),
    ("d/dx exp(−x²) = −2x exp(−x²)", "exp(-x**2)", "x", {}, lambda s: -2 * s["x"] * sympy.exp(-s["x"] ** 2)),
    ("d/dx σ(x) = σ(x)(1 − σ(x))", "sigmoid(x)", "x", {},
     lambda s: sigmoid(s["x"]) * (1 - sigmoid(s["x"]))),
    # -- vector: linear and quadratic forms, norms (Matrix Cookbook §2.4) --------------------------
    ("∂(aᵀx)/∂x = aᵀ", "dot(a, x)", "x", {"a": "n", "x": "n"}, lambda s: T(s["a"])),
    ("∂(a@x)/∂x = aᵀ", "a@x", "x", {"a": "n", "x": "n"}, lambda s: T(s["a"])),
    ("∂(xᵀa)/∂x = aᵀ", "x@a", "x", {"a": "n", "x": "n"}, lambda s: T(s["a"])),
    ("∂ sum(x)/∂x = 𝟙ᵀ", "sum(x)", "x", V, lambda s: Ones(1, s["x"].shape[0])),
    ("∂ mean(x)/∂x = 𝟙ᵀ/n", "mean(x)", "x", V, lambda s: Ones(1, s["x"].shape[0]) / s["x"].shape[0]),
    ("∂(xᵀx)/∂x = 2xᵀ", "x@x", "x", V, lambda s: 2 * T(s["x"])),
    ("∂‖x‖²/∂x = 2xᵀ (as a sum of squares)", "sum(x**2)", "x", V, lambda s: 2 * T(s["x"])),
    ("∂‖x‖/∂x = xᵀ/‖x‖", "norm(x)", "x", V, lambda s: mm(1 / Norm(s["x"]), T(s["x"]))),
    ("∂(Ax)/∂x = A", "A@x", "x", {"x": "n", "A": "m,n"}, _t("A")),
    ("∂(xᵀAx)/∂x = xᵀ(A + Aᵀ)", "x@A@x", "x", VA, lambda s: T(s["x"]) * (s["A"] + T(s["A"]))),
    ("∂(xᵀBx)/∂x = xᵀ(B + Bᵀ), another name", "x@B@x", "x", {"x": "n", "B": "n,n"},
     lambda s: T(s["x"]) * (s["B"] + T(s["B"]))),
    ("∂(xᵀAᵀAx)/∂x = 2xᵀAᵀA", "x@A.T@A@x", "x", LS, lambda s: 2 * T(s["x"]) * T(s["A"]) * s["A"]),
    ("∂‖Ax − b‖²/∂x = 2(Ax − b)ᵀA", "sum((A@x - b)**2)", "x", LS,
     lambda s: 2 * T(ew(E(s["A"] * s["x"]) - E(s["b"]), s["b"])) * s["A"]),
    ("∂‖Ax − b‖²/∂x = 2(Ax − b)ᵀA (as a norm)", "norm(A@x - b)**2", "x", LS,
     lambda s: 2 * T(ew(E(s["A"] * s["x"]) - E(s["b"]), s["b"])) * s["A"]),
    ("ridge: ∂(‖Ax − b‖² + λ‖x‖²)/∂x = 2λxᵀ + 2(Ax − b)ᵀA", "sum((A@x - b)**2) + lam*sum(x**2)", "x", LS,
     lambda s: 2 * s["lam"] * T(s["x"]) + 2 * T(ew(E(s["A"] * s["x"]) - E(s["b"]), s["b"])) * s["A"]),
    ("∂(w ⊙ x)/∂w = diag(x)", "w*x", "w", {"w": "n", "x": "n"}, lambda s: Diag(s["x"])),
    ("∂ exp(x)/∂x = diag(exp(x))", "exp(x)", "x", V, lambda s: Diag(ew(sympy.exp(E(s["x"])), s["x"]))),
    ("∂ sum(exp(x))/∂x = exp(x)ᵀ", "sum(exp(x))", "x", V, lambda s: T(ew(sympy.exp(E(s["x"])), s["x"]))),
    # -- deep learning: the paper's neuron, logistic and softmax regression -------------------------
    ("ReLU neuron by w: xᵀ where w·x + b > 0, else 0", "max(0, dot(w, x) + b)", "w", {"w": "n", "x": "n"},
     lambda s: Piecewise((T(s["x"]), s["b"] + ReduceSum(ew(E(s["w"]) * E(s["x"]), s["x"])) > 0),
                         (ZeroMatrix(1, s["x"].shape[0]), True))),
    ("ReLU neuron by b: 1 where w·x + b > 0, else 0", "max(0, dot(w, x) + b)", "b", {"w": "n", "x": "n"},
     lambda s: Piecewise((1, s["b"] + ReduceSum(ew(E(s["w"]) * E(s["x"]), s["x"])) > 0), (0, True))),
    ("sigmoid neuron by w: σ(z)(1 − σ(z))xᵀ", "sigmoid(dot(w, x) + b)", "w", {"w": "n", "x": "n"},
     lambda s: (lambda z: sigmoid(z) * (1 - sigmoid(z)) * T(s["x"]))(
         s["b"] + ReduceSum(ew(E(s["w"]) * E(s["x"]), s["x"])))),
    ("logistic loss by w: (σ(Xw) − y)ᵀX", "sum(log(1 + exp(X@w)) - y*(X@w))", "w", LOGISTIC,
     lambda s: T(ew(sigmoid(E(s["X"] * s["w"])) - E(s["y"]), s["y"])) * s["X"]),
    ("binary cross-entropy of σ(Xw) by w: (σ(Xw) − y)ᵀX",
     "z = X@w; L = sum(-y*log(sigmoid(z)) - (1 - y)*log(1 - sigmoid(z)))", "w", LOGISTIC,
     lambda s: T(ew(sigmoid(E(s["X"] * s["w"])) - E(s["y"]), s["y"])) * s["X"]),
    ("log-sum-exp by x: softmax(x)ᵀ", "logsumexp(x)", "x", V,
     lambda s: T(_softmax(s["x"]))),
    ("softmax cross-entropy by z: s·Σy − y (s − y for a one-hot y)", "L = -sum(y*log(softmax(z)))", "z",
     {"z": "n", "y": "n"}, lambda s: ReduceSum(s["y"]) * T(_softmax(s["z"])) - T(s["y"])),
    ("softmax regression by W: (s·Σy − y)xᵀ", "L = -sum(y*log(softmax(W@x + b)))", "W",
     {"W": "k,n", "x": "n", "b": "k", "y": "k"},
     lambda s: ew(E(_softmax(ew(E(s["W"] * s["x"]) + E(s["b"]), s["b"]))) * ReduceSum(s["y"]) - E(s["y"]), s["y"])
     * T(s["x"])),
    ("layer norm by β: gᵀ", LAYER_NORM, "beta", LAYER_NORM_SHAPES, lambda s: T(s["g"])),
    # -- matrices: traces, determinants, inverses (Matrix Cookbook §2) ------------------------------
    ("∂(aᵀXb)/∂X = abᵀ", "a@X@b", "X", {"a": "m", "X": "m,n", "b": "n"}, lambda s: s["a"] * T(s["b"])),
    ("∂ tr(X)/∂X = I", "trace(X)", "X", SQ, lambda s: Identity(s["X"].shape[0])),
    ("∂ tr(AX)/∂X = Aᵀ", "trace(A@X)", "X", SQA, lambda s: T(s["A"])),
    ("∂ tr(XA)/∂X = Aᵀ", "trace(X@A)", "X", SQA, lambda s: T(s["A"])),
    ("∂ tr(XᵀA)/∂X = A", "trace(X.T@A)", "X", SQA, _t("A")),
    ("∂ tr(XᵀX)/∂X = 2X", "trace(X.T@X)", "X", SQ, lambda s: 2 * s["X"]),
    ("∂ tr(XXᵀ)/∂X = 2X", "trace(X@X.T)", "X", SQ, lambda s: 2 * s["X"]),
    ("∂ tr(X²)/∂X = 2Xᵀ", "trace(X@X)", "X", SQ, lambda s: 2 * T(s["X"])),
    ("∂ tr(XAXᵀ)/∂X = X(A + Aᵀ)", "trace(X@A@X.T)", "X", SQA, lambda s: s["X"] * (s["A"] + T(s["A"]))),
    ("∂ tr(XᵀAX)/∂X = (A + Aᵀ)X", "trace(X.T@A@X)", "X", SQA, lambda s: (s["A"] + T(s["A"])) * s["X"]),
    ("∂ tr(AXB)/∂X = AᵀBᵀ", "trace(A@X@B)", "X", {"A": "n,n", "X": "n,n", "B": "n,n"},
     lambda s: T(s["A"]) * T(s["B"])),
    ("∂ det X/∂X = det(X) X⁻ᵀ", "det(X)", "X", SQ, lambda s: mm(sympy.Determinant(s["X"]), T(Inverse(s["X"])))),
    ("∂ log det X/∂X = X⁻ᵀ", "log(det(X))", "X", SQ, lambda s: T(Inverse(s["X"]))),
    ("∂ tr(X⁻¹A)/∂X = −X⁻ᵀAᵀX⁻ᵀ", "trace(inv(X)@A)", "X", SQA,
     lambda s: mm(-1, T(Inverse(s["X"])), T(s["A"]), T(Inverse(s["X"])))),
    ("∂ tr(X⁻¹)/∂X = −X⁻ᵀX⁻ᵀ", "trace(inv(X))", "X", SQ, lambda s: mm(-1, T(Inverse(s["X"])), T(Inverse(s["X"])))),
    ("∂(aᵀX⁻¹b)/∂X = −X⁻ᵀabᵀX⁻ᵀ", "a@inv(X)@b", "X", {"a": "n", "X": "n,n", "b": "n"},
     lambda s: mm(-1, T(Inverse(s["X"])), s["a"], T(s["b"]), T(Inverse(s["X"])))),
    ("∂‖X‖²_F/∂X = 2X", "sum(X**2)", "X", {"X": "m,n"}, lambda s: 2 * s["X"]),
    ("∂ sum(A ⊙ X)/∂X = A", "sum(A*X)", "X", {"A": "m,n", "X": "m,n"}, _t("A")),
    ("∂ tr(X³)/∂X = 3(Xᵀ)²", "trace(matrix_power(X, 3))", "X", SQ,
     lambda s: mm(3, MatrixPower(T(s["X"]), 2))),
    ("∂ tr(A ⊗ X)/∂X = tr(A) I", "trace(kron(A, X))", "X", {"A": "m,m", "X": "n,n"},
     lambda s: sympy.Trace(s["A"]) * Identity(s["X"].shape[0])),
    # -- networks ----------------------------------------------------------------------------------
    ("linear layer ‖Wx − y‖² by W: 2(Wx − y)xᵀ", "sum((W@x - y)**2)", "W", {"W": "m,n", "x": "n", "y": "m"},
     lambda s: 2 * ew(E(s["W"] * s["x"]) - E(s["y"]), s["y"]) * T(s["x"])),
    ("two-layer ReLU net by W2: 2(W₂h − y)hᵀ", "h = max(0, W1@x + b1); L = sum((W2@h - y)**2)", "W2", NET,
     lambda s: 2 * ew(E(s["W2"] * s["h"]) - E(s["y"]), s["y"]) * T(s["h"])),
    ("two-layer ReLU net by W1: (𝟙[W₁x + b₁ > 0] ⊙ 2W₂ᵀ(W₂h − y))xᵀ",
     "h = max(0, W1@x + b1); L = sum((W2@h - y)**2)", "W1", NET,
     lambda s: ew(Piecewise((E(2 * T(s["W2"]) * ew(E(s["W2"] * s["h"]) - E(s["y"]), s["y"])),
                             E(s["W1"] * s["x"]) + E(s["b1"]) > 0), (0, True)), s["b1"]) * T(s["x"])),
    ("RNN cell by Wx: ((1 − c²) ⊙ ∂J/∂c)xᵀ", "c = tanh(Wc@cp + Wx@x + b)", "Wx",
     {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"},
     lambda s: ew((1 - E(s["c"]) ** 2) * E(s["dJ/dc"]), s["c"]) * T(s["x"])),
]

TITLES = [case[0] for case in TEXTBOOK]


def _softmax(z):
    from matcalc_sym.operations.calls import ArrayCall

    return ArrayCall("softmax", [z], {"axis": None}, *z.shape)


def canonical(expr) -> str:
    """The tree of `expr` as text, with the arguments of sums and scalar products sorted.

    Products of matrices keep their order (they do not commute), and nested products and their
    scalar coefficients are flattened: 2·(A·B) and (2·A)·B are the same product 2AB.
    """
    if isinstance(expr, (sympy.MatAdd, sympy.Add)):
        return "Sum(" + ", ".join(sorted(canonical(a) for a in expr.args)) + ")"
    if isinstance(expr, (sympy.MatMul, sympy.Mul)):
        scalars, matrices = _product_factors(expr)
        numbers = sympy.Mul(*[f for f in scalars if f.is_Number])
        rest = sorted(canonical(f) for f in scalars if not f.is_Number)
        coefficient = ([] if numbers == 1 else [sympy.srepr(numbers)]) + rest
        factors = [canonical(m) for m in matrices]
        if not factors and len(coefficient) == 1:
            return coefficient[0]
        if factors and not coefficient and len(factors) == 1:
            return factors[0]
        return "Product([" + ", ".join(coefficient) + "], [" + ", ".join(factors) + "])"
    if not expr.args:
        return sympy.srepr(expr)
    return f"{type(expr).__name__}(" + ", ".join(canonical(a) for a in expr.args) + ")"


def _product_factors(expr) -> tuple[list, list]:
    scalars, matrices = [], []
    for factor in expr.args:
        if isinstance(factor, (sympy.MatMul, sympy.Mul)):
            inner_scalars, inner_matrices = _product_factors(factor)
            scalars += inner_scalars
            matrices += inner_matrices
        elif isinstance(factor, sympy.MatrixExpr):
            matrices.append(factor)
        else:
            scalars.append(factor)
    return scalars, matrices


SIZES = {"n": 3, "m": 4, "N": 5, "k": 4, "h": 3, "nc": 3, "nx": 2}


def values_for(d, shapes: dict, rng) -> dict:
    values = {}
    for name in d.symbols:
        shape = shapes.get(name)
        if name.startswith("dJ/d") or name in d.definitions:
            continue
        if shape is None:
            values[name] = float(rng.uniform(0.5, 1.5))
            continue
        dims = tuple(SIZES.get(dim, 1) if not dim.isdigit() else int(dim) for dim in shape.split(","))
        values[name] = rng.normal(size=dims) + (3 * np.eye(dims[0]) if len(dims) == 2 and dims[0] == dims[1] else 0)
    return values


def assert_numerically_right(d, shapes: dict, wrt: str) -> None:
    """Finite differences of NumPy reading the text (and sympy.diff for scalar problems)."""
    rng = np.random.default_rng(18)
    if not shapes:
        assert_equals_sympy_diff(d, wrt)
        return
    values = values_for(d, shapes, rng)
    upstream = [name for name in d.symbols if name.startswith("dJ/d")]
    if d.rule == "backprop":
        if upstream:
            from tests.helpers import reference_output

            values[upstream[0]] = rng.normal(size=np.shape(reference_output(d, values)))
        assert_gradient_matches(d, values, wrt)
    else:
        assert_jacobian_matches(d, values)


@pytest.mark.parametrize(("title", "text", "wrt", "shapes", "textbook"), TEXTBOOK, ids=TITLES)
def test_result_is_the_textbook_form(title, text, wrt, shapes, textbook):
    d = derive(text, wrt, shapes=shapes, check=True)
    assert d.check.passed, d.check.failure
    expected = textbook({**d.symbols})
    assert canonical(d.result) == canonical(expected), f"{title}: got {d.result}, textbook {expected}"
    assert_numerically_right(d, shapes, wrt)


def test_the_table_holds_at_least_forty_standard_results():
    assert len(TEXTBOOK) >= 40
    assert len(set(TITLES)) == len(TITLES)


def test_canonical_form_tells_a_textbook_form_from_an_equal_one():
    """The comparison is structural: X + X is not 2X, xᵀA + xᵀAᵀ is not xᵀ(A + Aᵀ), AB is not BA."""
    X, A = sympy.MatrixSymbol("X", 3, 3), sympy.MatrixSymbol("A", 3, 3)
    x = sympy.MatrixSymbol("x", 3, 1)
    assert canonical(sympy.MatAdd(X, X, evaluate=False)) != canonical(2 * X)
    assert canonical(T(x) * A + T(x) * T(A)) != canonical(T(x) * (A + T(A)))
    assert canonical(A * X) != canonical(X * A)
    assert canonical(A + T(A)) == canonical(sympy.MatAdd(T(A), A, evaluate=False))
    assert canonical(sympy.MatMul(2, sympy.MatMul(A, X))) == canonical(sympy.MatMul(2, A, X))


@pytest.mark.parametrize(("title", "text", "wrt", "shapes"), WORKED_EXAMPLES, ids=[e[0] for e in WORKED_EXAMPLES])
def test_worked_example_renders_everywhere(title, text, wrt, shapes):
    from matcalc_sym.render.schema import errors as schema_errors

    d = derive(text, wrt, shapes=shapes, check=True)
    assert d.check.passed, d.check.failure
    assert d.output in d.to_text()
    assert r"\begin{document}" in d.to_latex(standalone=True)
    assert "$$" in d.to_markdown()
    assert schema_errors(d.to_dict()) == []
    namespace: dict = {}
    exec(compile(d.to_numpy(), "exported.py", "exec"), namespace)  # the code the tool generated
    assert namespace["check_gradient"]() < 1e-5
