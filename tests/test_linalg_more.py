"""kron, matrix_power, transpose, sign, clip and abs on arrays (issue 16): NumPy's meaning, both modes, every format.

Every derivative here is compared with finite differences of NumPy reading
the text (`check=True`, `tests.helpers`), never with the package's own
translation; the Matrix Cookbook's results are asserted as they print.
"""

import json
import math

import numpy as np
import pytest
import sympy

from matcalc_sym import ShapeError, derive
from matcalc_sym.numeric import evaluate_expression
from matcalc_sym.reference import Reference
from matcalc_sym.render.schema import errors as schema_errors
from tests.helpers import (
    assert_matches_numpy,
    load_exported,
)
from tests.latex_engine import compile_latex, needs_engine

#: the gallery's worked examples: (title, expression, wrt, shapes)
WORKED_EXAMPLES = [
    ("The Matrix Cookbook's tr(A ⊗ X) by X", "trace(kron(A, X))", "X", {"A": "m,m", "X": "n,n"}),
    ("The Matrix Cookbook's tr(Xᵏ) by X", "trace(matrix_power(X, 3))", "X", {"X": "n,n"}),
    ("A clipped linear layer by W", "sum(clip(W@x, -1, 1))", "W", {"W": "m,n", "x": "n"}),
    ("The L1 distance by X", "sum(abs(X - Y))", "X", {"X": "m,n", "Y": "m,n"}),
    ("sign(x)·x² by x", "sum(sign(x)*x**2)", "x", {"x": "n"}),
]

#: what each worked example's result reads (the `text` form, in the input language) and the pretty result line
RESULTS = {
    "trace(kron(A, X))": ("Trace(A)*I", "tr(A)⋅𝕀"),
    "trace(matrix_power(X, 3))": ("3*matrix_power(X.T, 2)", None),
    "sum(clip(W@x, -1, 1))": ("where((W*x > -1) & (W*x < 1), 1, 0)*x.T", "𝟙[W⋅x > -1 ∧ W⋅x < 1]⋅x"),
    "sum(abs(X - Y))": ("(X - Y)/Abs(X - Y)", None),
    "sum(sign(x)*x**2)": ("2*(x ⊙ sign(x)).T", "2⋅(x ⊙ sign(x))"),
}

RNG = np.random.default_rng(16)


def _values(shapes: dict, sizes: dict | None = None) -> dict:
    """Random inputs for declared shapes (symbolic dimensions get small distinct sizes)."""
    sizes = {"m": 2, "n": 3, "p": 2, "q": 3, "k": 4, **(sizes or {})}
    values = {}
    for name, shape in shapes.items():
        dims = tuple(int(d) if d.isdigit() else sizes[d] for d in shape.split(","))
        values[name] = RNG.uniform(0.3, 1.5, size=dims) * RNG.choice([-1.0, 1.0], size=dims)
    return values


def _assert_every_format(d) -> None:
    """Every renderer works, the JSON is schema 1, and the exported module passes its own check."""
    text = d.to_text()
    assert "Result" in text and "Substitute back" in text
    latex = d.to_latex(standalone=True)
    assert latex.startswith(r"\documentclass") and r"\boxed{" in latex
    assert "$$" in d.to_markdown()
    document = d.to_dict()
    assert schema_errors(document) == []
    json.dumps(document)
    module = load_exported(d.to_numpy())
    assert module["check_gradient"]() < 1e-5


# -- the worked examples ------------------------------------------------------------------------------


@pytest.mark.parametrize(("title", "text", "wrt", "shapes"), WORKED_EXAMPLES, ids=[e[1] for e in WORKED_EXAMPLES])
def test_worked_examples_read_as_expected_and_pass_their_check(title, text, wrt, shapes):
    d = derive(text, wrt, shapes=shapes, check=True, expand=2)
    assert d.check.passed, d.check.failure
    assert d.check.steps_verified == d.check.steps_total > 0
    assert d.expansion.equal
    expected_text, expected_pretty = RESULTS[text]
    assert str(d.result) == expected_text
    if expected_pretty is not None:
        assert expected_pretty in d.to_text()
    assert_matches_numpy(d, _values(shapes), wrt)
    _assert_every_format(d)


@needs_engine
def test_worked_examples_compile_with_pdflatex(tmp_path):
    for index, (_, text, wrt, shapes) in enumerate(WORKED_EXAMPLES):
        compile_latex(derive(text, wrt, shapes=shapes).to_latex(standalone=True), tmp_path, f"example{index}")


def test_the_cookbook_trace_of_a_kronecker_product_is_tr_a_times_i():
    """tr(A ⊗ X) = tr(A)·tr(X): by X it is tr(A)·I, by A it is tr(X)·I; numbers, not just symbols."""
    shapes = {"A": "m,m", "X": "n,n"}
    values = _values(shapes)
    by_x = derive("trace(kron(A, X))", "X", shapes=shapes)
    np.testing.assert_allclose(by_x.evaluate(values), np.trace(values["A"]) * np.eye(3), rtol=1e-12)
    by_a = derive("trace(kron(A, X))", "A", shapes=shapes)
    assert str(by_a.result) == "Trace(X)*I"
    np.testing.assert_allclose(by_a.evaluate(values), np.trace(values["X"]) * np.eye(2), rtol=1e-12)
    assert r"= \operatorname{tr}\left(\mathrm{A} \right) \mathrm{I}}" in by_x.to_latex()


def test_the_cookbook_trace_of_a_matrix_power_is_k_times_the_transposed_power():
    values = {"X": RNG.normal(size=(4, 4))}
    for k in range(1, 6):
        d = derive(f"trace(matrix_power(X, {k}))", "X", shapes={"X": "n,n"})
        want = k * np.linalg.matrix_power(values["X"].T, k - 1)
        np.testing.assert_allclose(d.evaluate(values), want, rtol=1e-10, atol=1e-12)
    assert r"3 \left(\mathrm{X}^{T}\right)^{2}" in derive("trace(matrix_power(X, 3))", "X",
                                                          shapes={"X": "n,n"}).to_latex()


# -- the meaning of the text: NumPy's --------------------------------------------------------------------


NUMPY_MEANINGS = [
    ("kron(A, X)", {"A": "m,m", "X": "n,n"}, lambda v: np.kron(v["A"], v["X"])),
    ("kron(B, C)", {"B": "p,q", "C": "2,3"}, lambda v: np.kron(v["B"], v["C"])),
    ("kron(a, b)", {"a": "m", "b": "n"}, lambda v: np.kron(v["a"], v["b"])),
    ("kron(a, B)", {"a": "m", "B": "p,q"}, lambda v: np.kron(v["a"], v["B"])),
    ("kron(B, a)", {"a": "m", "B": "p,q"}, lambda v: np.kron(v["B"], v["a"])),
    ("kron(c, r)", {"c": "n,1", "r": "1,m"}, lambda v: np.kron(v["c"], v["r"])),
    ("matrix_power(X, 0)", {"X": "n,n"}, lambda v: np.linalg.matrix_power(v["X"], 0)),
    ("matrix_power(X, 1)", {"X": "n,n"}, lambda v: np.linalg.matrix_power(v["X"], 1)),
    ("matrix_power(X, 4)", {"X": "n,n"}, lambda v: np.linalg.matrix_power(v["X"], 4)),
    ("matrix_power(X, 2 + 1)", {"X": "n,n"}, lambda v: np.linalg.matrix_power(v["X"], 3)),
    ("transpose(B)", {"B": "p,q"}, lambda v: np.transpose(v["B"])),
    ("transpose(a)", {"a": "m"}, lambda v: np.transpose(v["a"])),
    ("sign(B)", {"B": "p,q"}, lambda v: np.sign(v["B"])),
    ("abs(B - a)", {"B": "p,q", "a": "q"}, lambda v: np.abs(v["B"] - v["a"])),
    ("clip(B, -0.5, 0.8)", {"B": "p,q"}, lambda v: np.clip(v["B"], -0.5, 0.8)),
    ("clip(B, a, 1)", {"B": "p,q", "a": "q"}, lambda v: np.clip(v["B"], v["a"], 1)),
]


@pytest.mark.parametrize(("text", "shapes", "numpy"), NUMPY_MEANINGS, ids=[m[0] for m in NUMPY_MEANINGS])
def test_the_reference_its_code_and_the_translation_agree_with_numpy(text, shapes, numpy):
    from matcalc_sym.reference_code import HELPERS, numpy_statements

    values = _values(shapes)
    want = numpy(values)
    reference = Reference(text, {k: tuple(s.split(",")) for k, s in shapes.items()})
    np.testing.assert_allclose(reference(values), want, rtol=1e-12)
    assert np.shape(reference(values)) == np.shape(want)
    namespace = {"_np": np, "_math": math, **values}
    exec(HELPERS, namespace)  # noqa: S102 - the package's own fixed helper code
    ((_, code),) = numpy_statements(text, lambda name: name)
    np.testing.assert_allclose(eval(code, namespace), want, rtol=1e-12)  # noqa: S307 - generated from the tree
    wrt = next(iter(shapes))
    d = derive(text, wrt, shapes=shapes)
    got = np.asarray(evaluate_expression(d.expression, values, d.symbols), dtype=float)
    np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=1e-12)


def test_scalar_sign_and_clip_use_thirty_digits_and_agree_with_numpy():
    for text, numpy in [("sign(x)", np.sign), ("clip(x, -0.5, 0.25)", lambda x: np.clip(x, -0.5, 0.25))]:
        for x in (-0.7, -0.3, 0.1, 0.9):
            precise = Reference(text)({"x": x}, precise=True)
            assert float(precise) == pytest.approx(float(numpy(x)), abs=1e-15)


# -- kron --------------------------------------------------------------------------------------------------


KRON_GRADIENTS = [
    ("sum(sin(kron(B, X)))", "B", {"B": "p,q", "X": "n,n"}),
    ("sum(sin(kron(B, X)))", "X", {"B": "p,q", "X": "n,n"}),
    ("sum(sin(kron(a, X)))", "a", {"a": "m", "X": "n,n"}),
    ("sum(sin(kron(a, X)))", "X", {"a": "m", "X": "n,n"}),
    ("sum(sin(kron(X, b)))", "b", {"b": "n", "X": "n,n"}),
    ("sum(sin(kron(X, b)))", "X", {"b": "n", "X": "n,n"}),
    ("sum(sin(kron(X, X)))", "X", {"X": "n,n"}),
    ("sum(tanh(kron(C, B)))", "B", {"C": "2,3", "B": "p,q"}),
    ("trace(kron(P, Q))", "P", {"P": "2,3", "Q": "3,2"}),
    ("trace(kron(P, Q))", "Q", {"P": "2,3", "Q": "3,2"}),
    ("trace(kron(X, X))", "X", {"X": "n,n"}),
    ("kron(A, X)", "X", {"A": "m,m", "X": "n,n"}),
    ("kron(A, X)", "A", {"A": "m,m", "X": "n,n"}),
    ("sum(kron(a, b)**2)", "a", {"a": "m", "b": "n"}),
    ("kron(a, b)", "a", {"a": "m", "b": "n"}),
    ("kron(a, b)", "b", {"a": "m", "b": "n"}),
    ("kron(b, b)", "b", {"b": "n"}),
    ("sum(kron(c, r) * kron(c, r))", "c", {"c": "n,1", "r": "1,m"}),
]


@pytest.mark.parametrize(("text", "wrt", "shapes"), KRON_GRADIENTS, ids=[f"{t} by {w}" for t, w, _ in KRON_GRADIENTS])
@pytest.mark.parametrize("mode", ["auto", "reverse"])
def test_kron_derivatives_match_finite_differences_of_numpy(text, wrt, shapes, mode):
    d = derive(text, wrt, shapes=shapes, mode=mode, check=True, expand=2)
    assert d.check.passed, d.check.failure
    assert d.check.steps_verified == d.check.steps_total
    assert d.expansion.equal
    rules = [s.rule for s in d.steps if s.kind == "differentiate"]
    assert {"kron-left", "kron-right"} & set(rules)
    assert_matches_numpy(d, _values(shapes), wrt)


@pytest.mark.parametrize(("text", "wrt", "shapes"), [
    ("sum(sin(kron(B, X)))", "B", {"B": "p,q", "X": "n,n"}),
    ("kron(A, X)", "X", {"A": "m,m", "X": "n,n"}),
    ("sum(sin(kron(a, X)))", "a", {"a": "m", "X": "n,n"}),
    ("kron(a, b)", "b", {"a": "m", "b": "n"}),
    ("kron(b, b)", "b", {"b": "n"}),
])
def test_kron_renders_in_every_format(text, wrt, shapes):
    _assert_every_format(derive(text, wrt, shapes=shapes))


def test_kron_of_vectors_is_forward_mode_with_the_cookbook_jacobians():
    shapes = {"a": "m", "b": "n"}
    by_a, by_b = (derive("kron(a, b)", w, shapes=shapes) for w in "ab")
    assert by_a.rule != "backprop" and by_b.rule != "backprop"
    assert (str(by_a.result), str(by_b.result)) == ("kron(I, b)", "kron(a, I)")
    values = _values(shapes)
    np.testing.assert_allclose(by_a.evaluate(values), np.kron(np.eye(2), values["b"].reshape(-1, 1)), rtol=1e-12)
    np.testing.assert_allclose(by_b.evaluate(values), np.kron(values["a"].reshape(-1, 1), np.eye(3)), rtol=1e-12)
    both = derive("kron(b, b)", "b", shapes=shapes)  # the same vector in both slots: both terms
    assert str(both.result) == "kron(I, b) + kron(b, I)"


def test_the_kron_adjoint_reads_as_block_sums_in_matrix_algebra():
    d = derive("sum(sin(kron(B, X)))", "B", shapes={"B": "p,q", "X": "n,n"})
    (step,) = [s for s in d.steps if s.kind == "differentiate" and s.rule == "kron-left"]
    assert "⟨Gᵢⱼ, B⟩" in step.explanation
    assert "(𝕀 ⨂ 𝟙ᵀ)⋅" in d.to_text() and "⊙ (𝟙 ⨂ X)" in d.to_text()
    assert (r"\left(\mathrm{I} \otimes \mathbb{1}^{T}\right) \left(\left(\mathbb{1} \otimes \mathrm{X}\right) \odot "
            r"\cos{\left(\mathrm{B} \otimes \mathrm{X} \right)}\right) \left(\mathrm{I} \otimes \mathbb{1}\right)}"
            in d.to_latex())


@pytest.mark.parametrize("side", [0, 1])
def test_the_printed_kron_formula_computes_what_the_adjoint_computes(side):
    """The matrix-algebra formula a step shows and the block sums evaluate() uses are the same numbers."""
    from matcalc_sym.operations.kron import KronAdjoint

    r, s = sympy.Integer(2), sympy.Integer(3)
    grad, other = sympy.MatrixSymbol("G", 4 * r, 5 * s), sympy.MatrixSymbol("R", r, s)
    if side == 1:
        grad, other = sympy.MatrixSymbol("G", 4 * r, 5 * s), sympy.MatrixSymbol("R", 4, 5)
    adjoint = KronAdjoint(grad, other, side)
    assert isinstance(adjoint, KronAdjoint)
    values = {"G": RNG.normal(size=(8, 15)), "R": RNG.normal(size=tuple(int(d) for d in other.shape))}
    symbols = {"G": grad, "R": other}
    blocks = evaluate_expression(adjoint, values, symbols)
    formula = evaluate_expression(adjoint.formula(), values, symbols)
    np.testing.assert_allclose(formula, blocks, rtol=1e-12)
    g4 = values["G"].reshape(4, 2, 5, 3)
    want = np.einsum("ikjl,kl->ij", g4, values["R"]) if side == 0 else np.einsum("ikjl,ij->kl", g4, values["R"])
    np.testing.assert_allclose(blocks, want, rtol=1e-12)


def test_the_kron_adjoint_reduces_only_for_square_blocks_under_an_identity():
    from matcalc_sym.operations.kron import KronAdjoint

    n = sympy.Symbol("n", integer=True, positive=True)
    square = sympy.MatrixSymbol("A", 2, 2)
    assert KronAdjoint(sympy.MatMul(3, sympy.Identity(2 * n)), square, 1) == \
        sympy.MatMul(3 * sympy.Trace(square), sympy.Identity(n))
    oblong = sympy.MatrixSymbol("P", 2, 3)
    assert isinstance(KronAdjoint(sympy.Identity(6), oblong, 1), KronAdjoint)  # blocks of I₆ are not I


def test_kron_with_a_number_is_refused_clearly():
    with pytest.raises(ShapeError, match=r"kron\(\) needs two arrays, got shapes \(\) and \(n, n\); a number times "
                                         r"an array is written with \*"):
        derive("sum(kron(s, X))", "X", shapes={"X": "n,n"})


# -- matrix_power --------------------------------------------------------------------------------------------


POWER_GRADIENTS = [
    ("sum(matrix_power(X, 3))", "X"),
    ("trace(A @ matrix_power(X, 4))", "X"),
    ("sum(sin(matrix_power(X, 2)))", "X"),
    ("sum(matrix_power(X, 0) * X)", "X"),
    ("sum(sin(matrix_power(X, 1)))", "X"),
    ("sum(matrix_power(X @ A, 3) * A)", "X"),
    ("trace(matrix_power(inv(X), 2))", "X"),
    ("y = matrix_power(X, 2); sum(y * A)", "X"),
    ("matrix_power(X, 3)", "X"),
]


@pytest.mark.parametrize(("text", "wrt"), POWER_GRADIENTS, ids=[t for t, _ in POWER_GRADIENTS])
def test_matrix_power_derivatives_match_finite_differences_of_numpy(text, wrt):
    shapes = {"X": "n,n", "A": "n,n"}
    d = derive(text, wrt, shapes=shapes, check=True, expand=2)
    assert d.check.passed, d.check.failure
    # X⁰ = I reads no X: its (zero) step has nothing to perturb
    assert d.check.steps_verified == d.check.steps_total - ("matrix_power(X, 0)" in text)
    assert d.expansion.equal
    values = _values(shapes)
    values["X"] = values["X"] + 3 * np.eye(3)  # well away from singular, for inv
    assert_matches_numpy(d, values, wrt)
    _assert_every_format(d)


def test_the_matrix_power_step_is_the_cookbook_sum_and_prints_the_call_in_the_text_form():
    d = derive("trace(A @ matrix_power(X, 4))", "X", shapes={"X": "n,n", "A": "n,n"})
    (introduce,) = [s for s in d.steps if s.kind == "introduce" and "matrix_power" in str(s.rhs)]
    assert str(introduce.rhs) == "matrix_power(X, 4)"  # never X**4, which the input language reads element-wise
    (step,) = [s for s in d.steps if s.rule == "matrix-power"]
    assert r"\sum_{i=0}^{3} \left(\mathrm{X}^{T}\right)^{i}" in d.to_latex()
    assert str(d.result).count("matrix_power(X.T, 3)") == 2 and str(d.result).count(" + ") == 3  # i = 0 and 3
    two = derive("sum(matrix_power(X, 2) * A)", "X", shapes={"X": "n,n", "A": "n,n"})
    assert r"\sum" not in two.to_latex()  # two terms read better written out
    assert step.explanation.startswith("matrix power Xᵏ")


def test_matrix_power_zero_and_one_are_the_identity_and_the_matrix():
    zero = derive("sum(matrix_power(X, 0) * X)", "X", shapes={"X": "n,n"})
    assert str(zero.result) == "I"
    one = derive("sum(matrix_power(X, 1) * X)", "X", shapes={"X": "n,n"})
    x = RNG.normal(size=(3, 3))
    np.testing.assert_allclose(one.evaluate({"X": x}), 2 * x, rtol=1e-12)
    assert str(one.steps[0].rhs) == "X"  # u₁ = X¹ = X


@pytest.mark.parametrize(("text", "message"), [
    ("trace(matrix_power(X, -1))", r"the power -1 is negative \(NumPy would invert\); write inv\(X\)"),
    ("trace(matrix_power(X, -3))", r"write matrix_power\(inv\(X\), 3\)"),
    ("trace(matrix_power(X, 1.5))", r"the power must be a whole number written in the text, got 1.5"),
    ("trace(matrix_power(X, s))", r"the power must be a whole number written in the text, got s"),
    ("trace(matrix_power(X, 17))", r"the power 17 is above 16"),
    ("sum(matrix_power(C, 2))", r"matrix_power\(\) needs a square matrix \(n,n\) and a whole number, got shapes "
                                r"\(m, n\) and \(\)"),
    ("sum(matrix_power(v, 2))", r"got shapes \(n,\) and \(\)"),
])
def test_matrix_power_refuses_what_it_cannot_mean(text, message):
    with pytest.raises(ShapeError, match=message):
        derive(text, "X", shapes={"X": "n,n", "C": "m,n", "v": "n"})


def test_a_negative_power_refused_on_the_command_line_is_exit_status_2():
    from typer.testing import CliRunner

    from matcalc_sym.cli import app

    result = CliRunner().invoke(app, ["trace(matrix_power(X, -2))", "-w", "X", "-s", "X=n,n"])
    assert result.exit_code == 2
    assert "matrix_power(inv(X), 2)" in result.output


def test_the_power_adjoint_written_out_is_its_value():
    from matcalc_sym.operations.matrix_power import MatrixPower, PowerAdjoint

    n = sympy.Symbol("n", integer=True, positive=True)
    x, g = sympy.MatrixSymbol("X", n, n), sympy.MatrixSymbol("G", n, n)
    adjoint = PowerAdjoint(x, g, 4)
    values, symbols = {"X": RNG.normal(size=(3, 3)), "G": RNG.normal(size=(3, 3))}, {"X": x, "G": g}
    direct = evaluate_expression(adjoint, values, symbols)
    written = evaluate_expression(adjoint.expanded(), values, symbols)
    xt = values["X"].T
    want = sum(np.linalg.matrix_power(xt, i) @ values["G"] @ np.linalg.matrix_power(xt, 3 - i) for i in range(4))
    np.testing.assert_allclose(direct, want, rtol=1e-12)
    np.testing.assert_allclose(written, want, rtol=1e-12)
    assert PowerAdjoint(x, sympy.MatMul(2, sympy.Identity(n)), 4) == \
        sympy.MatMul(8, MatrixPower(sympy.Transpose(x), 3))
    assert PowerAdjoint(x, g, 1) == g and PowerAdjoint(x, g, 0) == sympy.ZeroMatrix(n, n)


# -- transpose, sign, abs, clip -------------------------------------------------------------------------------


ELEMENTWISE_AND_TRANSPOSE = [
    ("sum(transpose(B) @ C)", "B", {"B": "p,q", "C": "p,k"}),
    ("sum(sin(transpose(a) * b))", "a", {"a": "n", "b": "n"}),
    ("transpose(x) * y", "x", {}),
    ("sum(sign(x)*x**2)", "x", {"x": "n"}),
    ("sum(sign(B)*B**2)", "B", {"B": "p,q"}),
    ("sign(x)*x**3", "x", {}),
    ("sum(abs(B - a))", "B", {"B": "p,q", "a": "q"}),
    ("sum(abs(B - a))", "a", {"B": "p,q", "a": "q"}),
    ("abs(a * b)", "a", {"a": "n", "b": "n"}),
    ("clip(x**2, 0.5, 2)", "x", {}),
    ("clip(a, -1, 1)", "a", {"a": "n"}),
    ("sum(clip(B, lo, hi))", "lo", {"B": "p,q"}),
    ("sum(clip(B, lo, hi))", "hi", {"B": "p,q"}),
    ("sum(clip(a, l, h) * a)", "a", {"a": "n", "l": "n", "h": "n"}),
    ("sum(clip(a, l, h) * a)", "l", {"a": "n", "l": "n", "h": "n"}),
    ("clip(x, 1, 0)", "x", {}),
]


@pytest.mark.parametrize(("text", "wrt", "shapes"), ELEMENTWISE_AND_TRANSPOSE,
                         ids=[f"{t} by {w}" for t, w, _ in ELEMENTWISE_AND_TRANSPOSE])
@pytest.mark.parametrize("mode", ["auto", "reverse"])
def test_transpose_sign_abs_and_clip_match_finite_differences_of_numpy(text, wrt, shapes, mode):
    d = derive(text, wrt, shapes=shapes, mode=mode, check=True, expand=2)
    assert d.check.passed, d.check.failure
    assert d.check.steps_verified == d.check.steps_total > 0
    assert d.expansion.equal
    values = {"x": 0.83, "y": -1.2, "lo": -0.4, "hi": 0.6, **_values(shapes)}
    if "l" in shapes:
        values["h"] = values["l"] + 1.0
    values = {k: v for k, v in values.items() if k in d.symbols or k == wrt}
    assert_matches_numpy(d, values, wrt)
    _assert_every_format(d)


def test_transpose_is_the_same_derivation_as_dot_t():
    shapes = {"B": "p,q", "C": "p,k"}
    by_function = derive("sum(transpose(B) @ C)", "B", shapes=shapes)
    by_attribute = derive("sum(B.T @ C)", "B", shapes=shapes)
    assert by_function.result == by_attribute.result
    assert [s.rule for s in by_function.steps] == [s.rule for s in by_attribute.steps]


def test_sign_has_slope_zero_and_clip_masks_like_relu():
    sign = derive("sum(sign(x)*x**2)", "x", shapes={"x": "n"})
    assert any("(sign rule element by element)" in s.explanation for s in sign.steps if s.kind == "differentiate")
    values = {"x": np.array([-2.0, 0.5, 3.0])}
    np.testing.assert_allclose(np.ravel(sign.evaluate(values)), 2 * np.abs(values["x"]), rtol=1e-12)
    clip = derive("sum(clip(W@x, -1, 1))", "W", shapes={"W": "m,n", "x": "n"})
    (step,) = [s for s in clip.steps if s.kind == "differentiate" and "clip" in s.explanation]
    assert "𝟙[u₁ > -1] ⊙ 𝟙[u₁ < 1]" in clip.to_text()
    w, x = np.array([[1.0, 0.5], [4.0, 1.0], [-0.2, 0.1]]), np.array([0.4, -0.2])  # W@x = 0.3, 1.4, -0.1
    got = clip.evaluate({"W": w, "x": x})
    inside = np.abs(w @ x) < 1
    np.testing.assert_allclose(got, np.outer(inside, x), rtol=1e-12)
    assert not inside[1] and inside[0] and inside[2]


def test_the_clip_rule_is_proven_against_sympy_and_a_wrong_one_is_caught():
    import dataclasses

    from matcalc_sym.rulecheck import verify_rule
    from matcalc_sym.ruletable import default_table

    table = default_table()
    (rule,) = [r for r in table.rules if r.op == "clip"]
    verdict = verify_rule(rule, table)
    assert verdict.ok and verdict.checked == {"u": 12, "v": 12, "w": 12}
    wrong = dataclasses.replace(rule, partials={**rule.partials, "u": "where(u > v, 1, 0)"})
    assert "partials.u" in verify_rule(wrong, table).counter_example()


def test_the_worked_example_runs_on_the_command_line_with_check():
    from typer.testing import CliRunner

    from matcalc_sym.cli import app

    result = CliRunner().invoke(app, ["trace(kron(A, X))", "-w", "X", "-s", "A=m,m", "-s", "X=n,n", "--check",
                                      "-f", "text"], env={"COLUMNS": "90", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "tr(A)⋅𝕀" in result.stdout and "check passed" in result.output
