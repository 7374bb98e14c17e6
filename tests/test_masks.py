"""ReLU/max/min/where/abs masks stay element-wise in every mode and every stage (issue 14, item 3).

Each case has its own NumPy reference, written here by hand from the
expression (NumPy semantics, 1-D vectors), independent of the package's
translation. The derivative is compared with central differences of that
reference at several random points away from the kinks, in forward, reverse
and auto mode, and with `derive(..., check=True)`. Structurally, a case split
whose condition reads an array element must never be one condition on a
whole vector or matrix: it lives inside an element-wise body (an indicator
⊙ the rest), at every step.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from matcalc_sym import derive
from matcalc_sym.arrays import Elem, Elementwise, ReduceSum, has_free_element, is_array
from matcalc_sym.numeric import evaluate_expression
from matcalc_sym.simplify import readable_array
from tests.helpers import upstream_names

H = 1e-6


def relu(z):
    return np.maximum(0.0, z)


NET = "h = max(0, W1@x + b1); o = W2@h + b2; L = sum((o - y)**2)"
NET_SHAPES = {"W1": "m,n", "x": "n", "b1": "m", "W2": "k,m", "b2": "k", "y": "k"}


def leaky(z):
    return np.where(z > 0, z, 0.1 * z)


def net(v):
    return np.sum((v["W2"] @ relu(v["W1"] @ v["x"] + v["b1"]) + v["b2"] - v["y"]) ** 2)


#: (expression, shapes, NumPy reference: the output from a dict of inputs, 1-D vectors as NumPy reads them)
CASES = {
    "relu(w*(W@w))": ("relu(w*(W@w))", {"w": "n", "W": "n,n"},
                      lambda v: relu(v["w"] * (v["W"] @ v["w"]))),
    "sum relu(w*(W@w))": ("sum(relu(w*(W@w)))", {"w": "n", "W": "n,n"},
                          lambda v: np.sum(relu(v["w"] * (v["W"] @ v["w"])))),
    "relu((w*W)@w) rectangular": ("relu((w*W)@w)", {"w": "n", "W": "m,n"},
                                  lambda v: relu((v["w"] * v["W"]) @ v["w"])),
    "relu((w*W)@w) column": ("relu((w*W)@w)", {"w": "n,1", "W": "n,n"},
                             lambda v: relu((v["w"] * v["W"]) @ v["w"])),
    "net": (NET, NET_SHAPES, net),
    "leaky": ("sum(where(W@z > 0, W@z, 0.1*(W@z)))", {"z": "n", "W": "m,n"},
              lambda v: np.sum(np.where(v["W"] @ v["z"] > 0, v["W"] @ v["z"], 0.1 * (v["W"] @ v["z"])))),
    "leaky vector": ("where(W@x > 0, W@x, 0.1*(W@x))", {"x": "n", "W": "m,n"},
                     lambda v: np.where(v["W"] @ v["x"] > 0, v["W"] @ v["x"], 0.1 * (v["W"] @ v["x"]))),
    "abs": ("sum(abs(W@z))", {"z": "n", "W": "m,n"}, lambda v: np.sum(np.abs(v["W"] @ v["z"]))),
    "max": ("sum(max(a, W@b))", {"a": "m", "b": "n", "W": "m,n"},
            lambda v: np.sum(np.maximum(v["a"], v["W"] @ v["b"]))),
    "min": ("sum(min(a, W@b)*a)", {"a": "m", "b": "n", "W": "m,n"},
            lambda v: np.sum(np.minimum(v["a"], v["W"] @ v["b"]) * v["a"])),
    "matrix relu": ("sum(relu(X@W + b)*G)", {"X": "N,n", "W": "n,m", "b": "m", "G": "N,m"},
                    lambda v: np.sum(relu(v["X"] @ v["W"] + v["b"]) * v["G"])),
    "nested": ("sum(relu(W@relu(V@x)))", {"x": "n", "V": "m,n", "W": "k,m"},
               lambda v: np.sum(relu(v["W"] @ relu(v["V"] @ v["x"])))),
    "nested weighted": ("v@relu(W@relu(V@x))", {"x": "n", "V": "m,n", "W": "k,m", "v": "k"},
                        lambda v: v["v"] @ relu(v["W"] @ relu(v["V"] @ v["x"]))),
    # a mask per entry and one scalar condition in the same case split: 𝟙[Wx > 0 ∧ Σ relu(Wx) > 1]
    "scalar of masks": ("max(0, sum(relu(W@x)) - 1)", {"x": "n", "W": "m,n"},
                        lambda v: max(0.0, np.sum(relu(v["W"] @ v["x"])) - 1)),
    "squared relu": ("sum(relu(X@W + b)**2)", {"X": "N,n", "W": "n,m", "b": "m"},
                     lambda v: np.sum(relu(v["X"] @ v["W"] + v["b"]) ** 2)),
    # a case split inside a product, inside a later condition: SymPy folds conditions as it builds them
    "leaky then relu": ("sum(relu(U@where(W@x > 0, W@x, 0.1*(W@x))))", {"x": "n", "W": "m,n", "U": "k,m"},
                        lambda v: np.sum(relu(v["U"] @ leaky(v["W"] @ v["x"])))),
    "leaky then relu, named": ("z = W@x; h = where(z > 0, z, 0.1*z); L = sum(relu(U@h))",
                               {"x": "n", "W": "m,n", "U": "k,m"},
                               lambda v: np.sum(relu(v["U"] @ leaky(v["W"] @ v["x"])))),
    # … and inside a sum inside a condition
    "relu of a leaky sum": ("max(0, sum(where(W@x > 0, W@x, 0.1*(W@x))) - 1)", {"x": "n", "W": "m,n"},
                            lambda v: max(0.0, np.sum(leaky(v["W"] @ v["x"])) - 1)),
}

DIMS = {"n": 3, "m": 4, "k": 2, "N": 5}

#: (case, wrt, modes): forward mode only where no matrix lies on the path from the variable
RUNS = [
    ("relu(w*(W@w))", "w", ("auto", "forward", "reverse")),
    ("sum relu(w*(W@w))", "w", ("auto", "forward", "reverse")),
    ("relu((w*W)@w) rectangular", "w", ("auto", "reverse")),
    ("relu((w*W)@w) column", "w", ("auto", "reverse")),
    ("net", "W1", ("auto", "reverse")),
    ("net", "b1", ("auto", "forward", "reverse")),
    ("net", "x", ("auto", "forward", "reverse")),
    ("net", "W2", ("auto", "reverse")),
    ("leaky", "z", ("auto", "forward", "reverse")),
    ("leaky", "W", ("auto", "reverse")),
    ("leaky vector", "x", ("auto", "forward", "reverse")),
    ("abs", "z", ("auto", "forward", "reverse")),
    ("abs", "W", ("auto", "reverse")),
    ("max", "a", ("auto", "forward", "reverse")),
    ("max", "b", ("auto", "forward", "reverse")),
    ("min", "a", ("auto", "forward", "reverse")),
    ("min", "b", ("auto", "forward", "reverse")),
    ("matrix relu", "W", ("auto", "reverse")),
    ("matrix relu", "b", ("auto", "reverse")),
    ("matrix relu", "X", ("auto", "reverse")),
    ("nested", "x", ("auto", "forward", "reverse")),
    ("nested", "V", ("auto", "reverse")),
    ("nested weighted", "x", ("auto", "forward", "reverse")),
    ("nested weighted", "W", ("auto", "reverse")),
    ("scalar of masks", "x", ("auto", "forward", "reverse")),
    ("scalar of masks", "W", ("auto", "reverse")),
    ("squared relu", "b", ("auto", "reverse")),
    ("squared relu", "W", ("auto", "reverse")),
    ("leaky then relu", "x", ("auto", "forward", "reverse")),
    ("leaky then relu", "W", ("auto", "reverse")),
    ("leaky then relu", "U", ("auto", "reverse")),
    ("leaky then relu, named", "x", ("auto", "forward", "reverse")),
    ("leaky then relu, named", "W", ("auto", "reverse")),
    ("relu of a leaky sum", "x", ("auto", "forward", "reverse")),
    ("relu of a leaky sum", "W", ("auto", "reverse")),
]


def _shape(declared: str) -> tuple[int, ...]:
    return tuple(int(d) if d.strip().isdigit() else DIMS[d.strip()] for d in declared.split(","))


def _draw(rng, shapes) -> dict[str, np.ndarray]:
    return {name: rng.uniform(-2, 2, size=_shape(shape)) for name, shape in shapes.items()}


def _jacobian(f, values, name, h=H) -> np.ndarray:
    """Central differences of f's output (flattened) by each entry of `name`: shape (outputs, entries)."""
    base = values[name]
    columns = []
    for i in range(base.size):
        step = np.zeros(base.size)
        step[i] = h
        up = dict(values, **{name: base + step.reshape(base.shape)})
        down = dict(values, **{name: base - step.reshape(base.shape)})
        columns.append((np.ravel(f(up)) - np.ravel(f(down))) / (2 * h))
    return np.stack(columns, axis=1)


def _expected(d, f, values, name, upstream):
    """What the result should be at `values`, from the reference alone, in the result's own layout."""
    jacobian = _jacobian(f, values, name)
    if not np.allclose(jacobian, _jacobian(f, values, name, 10 * H), rtol=1e-4, atol=1e-4):
        return None  # a kink within 10h: no difference quotient is trustworthy here
    variable = values[name]
    if d.rule == "backprop":
        weights = np.ravel(upstream) if upstream is not None else np.ones(jacobian.shape[0])
        gradient = weights @ jacobian  # ∂(Σ upstream ⊙ f)/∂variable
        if variable.ndim == 2:
            return gradient.reshape(variable.shape)  # shaped like a 2-D parameter (denominator layout)
        return gradient.reshape(1, -1)  # a 1-D vector's gradient is a row (numerator layout)
    return jacobian  # forward mode: the Jacobian in numerator layout


def _upstream_name(d):
    return next(iter(upstream_names(d)), None)


def _whole_case_splits_on_elements(expr) -> list:
    """Case splits with array-valued branches (one condition for a whole array) whose condition reads an element."""
    found = []
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Piecewise) and any(is_array(v) for v, _ in node.args) \
                and any(has_free_element(c) for _, c in node.args):
            found.append(node)
        if isinstance(node, sympy.MatMul):  # a scalar factor of a matrix product multiplies the whole array
            found.extend(a for a in node.args if not is_array(a) and has_free_element(a))
    return found


@pytest.mark.parametrize(("case", "name", "mode"), [(c, n, m) for c, n, modes in RUNS for m in modes])
def test_masks_match_a_numpy_reference(case, name, mode):
    text, shapes, f = CASES[case]
    # auto mode picks forward or reverse mode, whose runs also run the package's own check
    d = derive(text, name, shapes=shapes, mode=mode, check=mode != "auto")
    assert d.check is None or d.check.passed, d.check.failure
    for step in d.steps:
        assert not _whole_case_splits_on_elements(step.rhs), (step.kind, step.rhs)
    assert not _whole_case_splits_on_elements(d.result)
    rng = np.random.default_rng(sum(map(ord, case + name + mode)))
    upstream = _upstream_name(d)
    compared = 0
    for _ in range(30):
        values = _draw(rng, shapes)
        output = np.asarray(f(values))
        weights = rng.uniform(-2, 2, size=output.shape) if upstream is not None else None
        expected = _expected(d, f, values, name, weights)
        if expected is None:
            continue
        inputs = dict(values, **({upstream: weights} if upstream is not None else {}))
        translated = evaluate_expression(d.expression, values, d.symbols)  # the input as the package reads it
        assert np.allclose(np.ravel(translated), np.ravel(output)), (translated, output)
        got = np.asarray(d.evaluate(inputs), dtype=float)
        assert got.shape == expected.shape, (got.shape, expected.shape)
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-5), (values, got, expected)
        compared += 1
        if compared == 4:
            break
    assert compared == 4


@pytest.mark.parametrize(("case", "name"), [("net", "W1"), ("relu(w*(W@w))", "w"), ("leaky", "W"),
                                            ("nested", "V"), ("matrix relu", "X")])
def test_masks_render_in_every_format(case, name):
    text, shapes, _ = CASES[case]
    d = derive(text, name, shapes=shapes, mode="reverse")
    plain = d.to_text()
    assert "𝟙[" in plain and "otherwise" not in plain  # indicator ⊙ …, never a brace over a whole array
    latex = d.to_latex(standalone=True)
    assert r"\mathbb{1}\left[" in latex and r"\begin{cases}" not in latex
    assert r"\mathbb{1}\left[" in d.to_markdown()
    data = d.to_dict()
    assert "where(" in data["result"]["text"] and "Piecewise" not in data["result"]["text"]
    assert str(d)


@pytest.mark.parametrize(("case", "name"), [("net", "W1"), ("relu(w*(W@w))", "w"), ("nested", "V"),
                                            ("scalar of masks", "W"), ("squared relu", "b")])
def test_exported_numpy_code_matches_the_reference(case, name):
    """The generated f_and_grad gives the reference's gradient (a mask and a scalar condition broadcast)."""
    text, shapes, f = CASES[case]
    d = derive(text, name, shapes=shapes, mode="reverse")
    namespace: dict = {}
    exec(compile(d.to_numpy(), "exported.py", "exec"), namespace)  # the code the tool generated, not user text
    rng = np.random.default_rng(7)
    values = _draw(rng, shapes)
    upstream = _upstream_name(d)
    weights = rng.uniform(-2, 2, size=np.shape(f(values))) if upstream is not None else None
    expected = _expected(d, f, values, name, weights)
    assert expected is not None
    inputs = dict(values)
    if upstream is not None:  # the exported module declares the upstream gradient of a vector as a column
        name_in_code = namespace["UPSTREAM"]
        inputs[name_in_code] = weights.reshape(-1, 1) if len(namespace["SHAPES"][name_in_code]) == 2 else weights
    _, gradient = namespace["f_and_grad"](**inputs)
    assert np.allclose(np.reshape(gradient, expected.shape), expected, rtol=1e-5, atol=1e-5)


def test_two_layer_net_simplifies_to_an_element_wise_mask():
    """Issue 18: (𝟙[W₁x + b₁ > 0] ⊙ W₂ᵀ(2o − 2y))·xᵀ, not {W₂ᵀ(2o − 2y) for W₁x + b₁ > 0; 0 otherwise}·xᵀ."""
    text, shapes, _ = CASES["net"]
    d = derive(text, "W1", shapes=shapes)
    simplified = [s for s in d.steps if s.kind == "simplify"]
    assert simplified
    coefficient_free = d.result
    assert isinstance(coefficient_free, sympy.MatMul)
    mask, row = coefficient_free.args[-2:]
    assert str(row) == "x.T"
    assert isinstance(mask, Elementwise) and isinstance(mask.body, sympy.Piecewise)
    (value, condition), (zero, otherwise) = mask.body.args
    assert str(condition) == "W1*x + b1 > 0" and zero == 0 and otherwise == sympy.true
    result_text = d.to_text().split("Result")[-1]
    assert "𝟙[W₁⋅x + b₁ > 0] ⊙" in result_text


def test_a_scalar_condition_stays_one_case_split():
    """max(0, w·x + b) by w: the condition involves no element, so the whole gradient has one case split."""
    for mode in ("auto", "forward", "reverse"):
        d = derive("max(0, dot(w, x) + b)", "w", shapes={"w": "n", "x": "n"}, mode=mode)
        assert isinstance(d.result, sympy.Piecewise), (mode, d.result)
        ((value, condition), (zero, otherwise)) = d.result.args
        assert str(value) == "x.T" and str(zero) == "0" and otherwise == sympy.true
        assert not has_free_element(condition)
        assert "otherwise" in d.to_text() and "𝟙[" not in d.to_text().split("Result")[-1]


def test_free_elements_are_read_at_the_current_index_only():
    n = sympy.Symbol("n", integer=True, positive=True)
    w, x = sympy.MatrixSymbol("w", n, 1), sympy.MatrixSymbol("x", n, 1)
    W = sympy.MatrixSymbol("W", n, n)
    dot = Elementwise(Elem(w) * Elem(x), n, 1)
    assert has_free_element(Elem(w) > 0)
    assert has_free_element(sympy.Piecewise((1, Elem(W * w) > 0), (0, True)))
    assert not has_free_element(ReduceSum(dot) > 0)  # w·x is one number: its elements are summed over
    assert not has_free_element(sympy.Symbol("b") > 0)
    assert not has_free_element(dot)  # an array is not an element


def test_simplify_never_moves_a_mask_across_a_matrix_product():
    """Wᵀ(g ⊙ 𝟙[z > 0]) is summed over its own index: its mask must not merge with an outer 𝟙[z > 0]."""
    n = sympy.Symbol("n", integer=True, positive=True)
    w, g = sympy.MatrixSymbol("w", n, 1), sympy.MatrixSymbol("g", n, 1)
    W = sympy.MatrixSymbol("W", n, n)
    mask = sympy.Piecewise((1, Elem(W * w) * Elem(w) > 0), (0, True))
    inner = Elementwise(mask * Elem(g) * Elem(w), n, 1)
    outer = Elementwise(mask * Elem(W * w) * Elem(g) + Elem(sympy.MatMul(W.T, inner)), n, 1)
    simplified = readable_array(outer)
    assert isinstance(simplified, Elementwise)
    body = simplified.body
    product = next(e for e in sympy.preorder_traversal(body)
                   if isinstance(e, Elem) and isinstance(e.array, sympy.MatMul) and e.array.has(W.T))
    assert product.array.has(sympy.Piecewise)  # the inner mask stays inside the product
    values = {"w": np.array([0.5, -1.0, 2.0]), "g": np.array([1.0, 2.0, -0.5]),
              "W": np.array([[1.0, -2.0, 0.5], [0.3, 1.0, -1.0], [2.0, 0.1, 1.0]])}
    symbols = {"w": w, "g": g, "W": W}
    assert np.allclose(evaluate_expression(simplified, values, symbols), evaluate_expression(outer, values, symbols))


def test_building_a_case_split_does_not_fold_through_an_element():
    """SymPy folds every condition it builds; an inner mask in U·(…) must stay inside the product."""
    m, k = sympy.Symbol("m", integer=True, positive=True), sympy.Symbol("k", integer=True, positive=True)
    z, U = sympy.MatrixSymbol("z", m, 1), sympy.MatrixSymbol("U", k, m)
    leaky = Elementwise(sympy.Piecewise((Elem(z), Elem(z) > 0), (Elem(z) / 10, True)), m, 1)
    condition = Elem(sympy.MatMul(U, leaky)) > 0
    mask = sympy.Piecewise((1, condition), (0, True))
    assert mask.args[0].cond == condition  # not ITE(z > 0, U·z > 0, U·z/10 > 0)
    total = sympy.Piecewise((1, ReduceSum(leaky) > 1), (0, True))
    assert total.args[0].cond == (ReduceSum(leaky) > 1)  # not folded through the sum either


def test_folding_plain_sympy_expressions_is_unchanged():
    from matcalc_sym.scoped_fold import fold_cases, sympy_piecewise_fold

    x, y = sympy.symbols("x y", real=True)
    expression = x * sympy.Piecewise((x, x < 1), (1, True)) + sympy.Piecewise((y, y > 0), (0, True))
    assert fold_cases(expression) == sympy_piecewise_fold(expression)


@pytest.mark.parametrize(("text", "expected"), [
    ("sum(where(w > w, w, 0.1*w))", lambda w: np.full((1, w.size), 0.1)),  # holds nowhere
    ("sum(where(w >= w, w, 0.1*w))", lambda w: np.ones((1, w.size))),  # holds everywhere
])
def test_a_condition_decided_when_built_is_a_constant_mask(text, expected):
    """w > w is False for every entry: SymPy decides it at once, and false·𝟙 was an internal TypeError."""
    for mode in ("forward", "reverse"):
        d = derive(text, "w", shapes={"w": "n"}, mode=mode, check=True)
        assert d.check.passed, d.check.failure
        w = np.array([0.5, -1.5, 2.0])
        assert np.allclose(d.evaluate({"w": w}), expected(w))


def test_each_piece_of_a_leaky_mask_is_an_element_wise_product():
    """where(z > 0, g, g/10) prints as 𝟙[z ≤ 0] ⊙ g/10 + 𝟙[z > 0] ⊙ g, every mask times its piece with ⊙."""
    text, shapes, _ = CASES["leaky vector"]
    d = derive(text, "x", shapes=shapes, mode="reverse")
    result = d.to_text().split("Result")[-1]
    assert "𝟙[W⋅x ≤ 0] ⊙" in result and "𝟙[W⋅x > 0] ⊙" in result
    assert "where(W*x > 0, (dJ/dy), (dJ/dy)/10)" in d.to_dict()["result"]["text"]
