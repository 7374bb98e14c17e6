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
from tests.helpers import (
    assert_equals_sympy_diff,
    assert_gradient_matches,
    assert_jacobian_matches,
    upstream_names,
)

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
    ("layer norm by γ: (g ⊙ (x − μ))ᵀ/√(v + ε), in your names", LAYER_NORM, "gamma", LAYER_NORM_SHAPES,
     lambda s: mm(1 / sympy.sqrt(s["eps"] + s["v"]), T(ew((E(s["x"]) - s["mu"]) * E(s["g"]), s["x"])))),
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
    upstream = upstream_names(d)
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


# -- §2: one shape whatever the mode; auto mode picks the form that reads better ---------------------------

SCALAR_LOSSES = [
    ("x@A@x", "x", VA),
    ("sum((A@x - b)**2)", "x", LS),
    ("sum(log(1 + exp(X@w)) - y*(X@w))", "w", LOGISTIC),
    ("L = -sum(y*log(softmax(z)))", "z", {"z": "n", "y": "n"}),
    (LAYER_NORM, "gamma", LAYER_NORM_SHAPES),
]


@pytest.mark.parametrize(("text", "wrt", "shapes"), SCALAR_LOSSES, ids=[c[0] for c in SCALAR_LOSSES])
@pytest.mark.parametrize(("layout", "shape"), [("auto", (1, 3)), ("numerator", (1, 3)), ("denominator", (3, 1))])
def test_a_gradient_has_one_shape_whatever_the_mode(text, wrt, shapes, layout, shape):
    """A row in numerator layout (the default, as the paper writes ∂y/∂x), a column in denominator
    layout, whether forward mode or backprop computed it, and the same numbers."""
    rng = np.random.default_rng(3)
    by_mode = {mode: derive(text, wrt, shapes=shapes, layout=layout, mode=mode) for mode in ("auto", "forward",
                                                                                               "reverse")}
    assert by_mode["forward"].rule != "backprop" and by_mode["reverse"].rule == "backprop"
    values = values_for(by_mode["auto"], shapes, rng)
    got = {mode: np.asarray(d.evaluate(values), dtype=float) for mode, d in by_mode.items()}
    assert {mode: g.shape for mode, g in got.items()} == dict.fromkeys(by_mode, shape)
    assert {d.layout for d in by_mode.values()} == {"denominator" if layout == "denominator" else "numerator"}
    np.testing.assert_allclose(got["forward"], got["reverse"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["auto"], got["reverse"], rtol=1e-9, atol=1e-12)
    assert_numerically_right(by_mode["auto"], shapes, wrt)


def test_auto_mode_takes_backprop_when_it_reads_clearly_better_and_says_why():
    """Layer norm by γ: forward mode substitutes μ and v back (57 operations), backprop keeps them (25)."""
    d = derive(LAYER_NORM, "gamma", shapes=LAYER_NORM_SHAPES)
    assert d.rule == "backprop" and d.layout == "numerator"
    (note,) = [n for n in d.notes if n.startswith("auto mode used reverse mode")]
    assert "keeps your names" in note and "against" in note
    assert {"mu", "v"} <= {str(s) for s in d.result.free_symbols}
    forward = derive(LAYER_NORM, "gamma", shapes=LAYER_NORM_SHAPES, mode="forward")
    assert "mu" not in {str(s) for s in forward.result.free_symbols}
    assert not any(n.startswith("auto mode used") for n in forward.notes)


def test_auto_mode_keeps_the_papers_forward_mode_when_both_read_alike():
    """x@A@x: forward mode's xᵀ(A + Aᵀ) is the textbook form, with no diag or 𝟙 left."""
    d = derive("x@A@x", "x", shapes=VA)
    assert d.rule == "vector" and not any(n.startswith("auto mode used") for n in d.notes)
    assert "diag" not in str(d.result) and "1" not in str(d.result)
    paper = derive("mean((y - max(0, X@w + b))**2)", "w", shapes={"X": "N,n", "y": "N", "w": "n"})
    assert paper.rule == "vector"


# -- §3: a ReLU mask stays element-wise after Simplify ------------------------------------------------------


@pytest.mark.parametrize("shapes", [
    {"W1": "h,n", "x": "n", "b1": "h", "W2": "m,h", "y": "m"},
    {"W1": "h,n", "x": "n,1", "b1": "h,1", "W2": "m,h", "y": "m,1"},
])
@pytest.mark.parametrize("text", ["h = relu(W1@x + b1); o = W2@h; L = sum((o - y)**2)",
                                  "o = W2@max(0, W1@x + b1); L = sum((o - y)**2)"])
def test_relu_masks_stay_element_wise_after_simplify(text, shapes):
    d = derive(text, "W1", shapes=shapes, check=True)
    assert d.check.passed, d.check.failure
    assert not isinstance(d.result, Piecewise)
    shown = d.to_text()
    result_block = shown[shown.index("Result"):]
    assert "𝟙[" in result_block and "otherwise" not in result_block
    simplified = [s for s in d.steps if s.kind in ("substitute", "simplify")]
    for step in simplified:
        assert not isinstance(step.rhs, Piecewise), step.rhs
    assert r"\mathbb{1}\left[" in d.to_latex()
    assert "where(" in d.to_dict()["result"]["text"]


def test_pretty_output_writes_the_binary_minus_inside_element_wise_sums():
    """(o − y), as a teacher writes it, not (−y + o); an all-negative sum keeps its leading minus."""
    d = derive("h = relu(W1@x + b1); o = W2@h; L = sum((o - y)**2)", "W1",
               shapes={"W1": "h,n", "x": "n", "b1": "h", "W2": "m,h", "y": "m"})
    result = d.to_text()[d.to_text().index("Result"):]
    assert "(o - y)" in result and "-y + o" not in result
    loss = derive("mean((y - max(0, X@w + b))**2)", "w", shapes={"X": "N,n", "y": "N", "w": "n"}).to_text()
    assert "(2⋅y - 2⋅b - 2⋅X⋅w)" in loss
    negative = derive("exp(-x*x - y*y)", "x").to_text()
    assert "- y" in negative[negative.index("Result"):]  # an all-negative sum keeps its leading minus


@pytest.mark.parametrize("text, options, expected", [
    ("x@A@x", {"hessian": True}, "A + A.T"),
    ("x@A@x + x@B@x", {"hessian": True}, "A + B + A.T + B.T"),
    ("x@A@x", {"layout": "denominator"}, "(A + A.T)*x"),
])
def test_a_symmetric_sum_sheds_its_transpose(text, options, expected):
    """(A + Aᵀ)ᵀ is A + Aᵀ, and (xᵀ(A + Aᵀ))ᵀ is (A + Aᵀ)x: a textbook writes neither transpose."""
    d = derive(text, "x", shapes={"x": "n", "A": "n,n", "B": "n,n"}, check=True, **options)
    assert str(d.result) == expected and d.check.passed


def test_a_zero_array_is_no_term_of_a_sum():
    """sign's slope is 0 almost everywhere, so the Hessian of ½‖Ax − b‖² + ‖x‖₁ is AᵀA, not AᵀA + 0."""
    d = derive("0.5*sum((A@x - b)**2) + sum(abs(x))", "x", shapes={"A": "m,n", "x": "n", "b": "m"},
               hessian=True, check=True)
    assert str(d.result) == "A.T*A" and d.second.result_text == "A.T @ A" and d.check.passed
