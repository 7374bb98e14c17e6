"""Second derivatives (issue 17): Hessians and Hessian-vector products, step by step.

Every worked example is checked against second differences of NumPy computing
the *text* (tests/helpers.reference_output, never the package's translation),
against its textbook closed form computed here with NumPy, and against
sympy.hessian where the variables are scalars.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from matcalc_sym.errors import DeriveError
from matcalc_sym.hessiancheck import verify_second
from matcalc_sym.parse import parse
from matcalc_sym.reference import Reference
from matcalc_sym.render.schema import errors
from tests.helpers import reference_output
from tests.latex_engine import compile_latex, needs_engine

#: (title, expression, wrt, shapes): a vector or scalar variables give the Hessian, a matrix the
#: Hessian-vector product along V (`kind_of`). The gallery renders these.
WORKED_EXAMPLES = [
    ("Quadratic form xᵀAx", "x@A@x", "x", {"x": "n", "A": "n,n"}),
    ("Quadratic model ½xᵀAx − bᵀx", "0.5*x@A@x - b@x", "x", {"x": "n", "A": "n,n", "b": "n"}),
    ("Least squares ½‖Ax − b‖²", "0.5*sum((A@x - b)**2)", "x", {"x": "n", "A": "m,n", "b": "m"}),
    ("Ridge regression ½‖Ax − b‖² + ½λ‖x‖²", "0.5*sum((A@x - b)**2) + 0.5*lam*sum(x**2)", "x",
     {"x": "n", "A": "m,n", "b": "m"}),
    ("Logistic regression loss by w", "-sum(y*log(sigmoid(X@w)) + (1 - y)*log(1 - sigmoid(X@w)))", "w",
     {"X": "N,n", "y": "N", "w": "n"}),
    ("Logistic loss with ±1 labels", "sum(log(1 + exp(-y*(X@w))))", "w", {"X": "N,n", "y": "N", "w": "n"}),
    ("Softmax cross-entropy by the logits", "-sum(y*log(softmax(z)))", "z", {"z": "n", "y": "n"}),
    ("Log-sum-exp", "logsumexp(z)", "z", {"z": "n"}),
    ("One-hidden-layer tanh net by its output weights", "0.5*sum((tanh(X@W1)@w2 - y)**2)", "w2",
     {"X": "N,d", "W1": "d,h", "w2": "h", "y": "N"}),
    ("Log-determinant: the HVP −X⁻ᵀVᵀX⁻ᵀ", "log(det(X))", "X", {"X": "n,n"}),
    ("tr(XAXᵀ): the HVP V(A + Aᵀ)", "trace(X@A@X.T)", "X", {"X": "n,m", "A": "m,m"}),
    ("Tanh net by its output weight matrix (HVP)", "0.5*sum((tanh(X@W1)@W2 - Y)**2)", "W2",
     {"X": "N,d", "W1": "d,h", "W2": "h,k", "Y": "N,k"}),
    ("Tanh net by its hidden weights (HVP)", "0.5*sum((tanh(X@W1)@w2 - y)**2)", "W1",
     {"X": "N,d", "W1": "d,h", "w2": "h", "y": "N"}),
    ("Batch softmax cross-entropy by W (HVP)", "-sum(Y*log_softmax(X@W, axis=1))", "W",
     {"X": "N,d", "W": "d,k", "Y": "N,k"}),
    ("Rosenbrock's function", "(1 - x)**2 + 100*(y - x**2)**2", "x,y", {}),
    ("Three scalar variables", "exp(x*y*z) + x*log(y) + z**3", "x,y,z", {}),
]

SIZES = {"n": 3, "m": 4, "N": 5, "d": 2, "h": 3, "k": 2}


def kind_of(wrt: str, shapes: dict) -> str:
    """A matrix variable gets the Hessian-vector product; a vector or scalars the Hessian."""
    return "hvp" if "," in shapes.get(wrt, "") else "hessian"


def _derive(expression, wrt, shapes, **options):
    return derive(expression, wrt, shapes=shapes, **{kind_of(wrt, shapes): True}, **options)


def _point(derivation, seed=0, direction=True):
    rng = np.random.default_rng(seed)
    values = {}
    for name in [*Reference(derivation.source, dict(derivation.declared_shapes)).variables(), *derivation.wrt]:
        shape = tuple(SIZES[d] for d in derivation.declared_shapes.get(name, ()))
        values[name] = rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape) if shape \
            else float(rng.uniform(0.5, 1.5))
    if "X" in values and values["X"].shape[0] == values["X"].shape[-1]:
        values["X"] = values["X"] + 4 * np.eye(values["X"].shape[0])  # well away from singular
    if derivation.second.direction and direction:
        values[derivation.second.direction] = rng.normal(size=np.shape(values[derivation.wrt[0]]))
    return values


def _value(derivation, values) -> float:
    inputs = {k: v for k, v in values.items() if k != derivation.second.direction}
    return float(reference_output(derivation, inputs))


def _moved(values, name, index, amount):
    array = np.array(values[name], dtype=float)
    if array.ndim == 0:
        return dict(values, **{name: float(array) + amount})
    array.reshape(-1)[index] += amount
    return dict(values, **{name: array})


def numeric_second(derivation, values, h=1e-4) -> np.ndarray:
    """Second differences of the text: the Hessian over every wrt entry, or the HVP along the direction."""
    entries = [(name, i) for name in derivation.wrt for i in range(np.size(values[name]))]
    direction = derivation.second.direction

    def second(a, b):
        total = 0.0
        for sa, sb, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
            moved = _moved(values, *a, sa * h)
            if direction is None:
                moved = _moved(moved, *b, sb * h)
            else:
                name = derivation.wrt[0]
                moved = dict(moved, **{name: np.asarray(moved[name]) + sb * h * values[direction]})
            total += sign * _value(derivation, moved)
        return total / (4 * h * h)

    if direction is None:
        return np.array([[second(a, b) for b in entries] for a in entries])
    return np.array([second(a, None) for a in entries]).reshape(np.shape(values[derivation.wrt[0]]))


def _got(derivation, values) -> np.ndarray:
    return np.asarray(derivation.evaluate(values), dtype=float)


@pytest.mark.parametrize("title, expression, wrt, shapes", WORKED_EXAMPLES, ids=[e[0] for e in WORKED_EXAMPLES])
def test_worked_example_matches_second_differences_of_the_text(title, expression, wrt, shapes):
    d = _derive(expression, wrt, shapes, check=True)
    assert d.check.passed, d.check.failure
    assert d.check.points == 3
    values = _point(d, seed=1)
    expected = numeric_second(d, values)
    got = _got(d, values).reshape(expected.shape)
    assert np.allclose(got, expected, rtol=1e-4, atol=1e-4), (got, expected)


@pytest.mark.parametrize("title, expression, wrt, shapes", WORKED_EXAMPLES, ids=[e[0] for e in WORKED_EXAMPLES])
def test_every_output_format_renders_the_worked_example(title, expression, wrt, shapes):
    d = _derive(expression, wrt, shapes)
    text = d.to_text()
    assert "The gradient (stage 1, collapsed)" in text and "Result" in text
    assert ("∂²" in text) if d.second.kind == "hessian" else ("∇²" in text)
    latex = d.to_latex(standalone=True)
    assert latex.startswith("\\documentclass") and latex.rstrip().endswith("\\end{document}")
    assert ("\\partial^{2}" in latex) if d.second.kind == "hessian" else ("\\nabla^{2}" in latex)
    markdown = d.to_markdown()
    assert "### 1. The gradient (stage 1, collapsed)" in markdown and "\\boxed{" in markdown
    document = json.loads(json.dumps(d.to_dict()))
    assert errors(document) == []
    assert document["second"]["kind"] == d.second.kind
    assert document["steps"][0]["kind"] == "gradient"
    assert len(document["steps"][0]["steps"]) == len(d.second.stage1.steps) > 0
    namespace: dict = {}
    exec(compile(d.to_numpy(), "<hessian module>", "exec"), namespace)  # noqa: S102 - the generated module
    assert namespace["check_gradient"]() < 1e-5
    assert namespace["check_second"]() < 1e-4


@needs_engine
@pytest.mark.parametrize("expression, wrt, shapes", [
    ("log(det(X))", "X", {"X": "n,n"}),
    ("(1 - x)**2 + 100*(y - x**2)**2", "x,y", {}),
    ("-sum(y*log(sigmoid(X@w)) + (1 - y)*log(1 - sigmoid(X@w)))", "w", {"X": "N,n", "y": "N", "w": "n"}),
])
def test_the_latex_document_compiles(expression, wrt, shapes, tmp_path):
    d = _derive(expression, wrt, shapes)
    source = d.to_latex(standalone=True)
    assert "?" not in source.replace("?}", "")  # every character of the explanations has a LaTeX spelling
    compile_latex(source, tmp_path)


def test_notebook_and_graph_views():
    d = derive("x@A@x", "x", shapes={"x": "n", "A": "n,n"}, hessian=True)
    assert "\\partial^{2}" in d._repr_latex_() and "<" in d._repr_html_()
    result = CliRunner().invoke(app, ["x@A@x", "-w", "x", "-s", "x=n", "-s", "A=n,n", "--hessian", "--graph"])
    assert result.exit_code == 0 and "●" in result.output and "∂²y/∂x∂xᵀ" in result.output


# -- the textbook closed forms, computed here with NumPy ------------------------


def _sigmoid(t):
    return 1 / (1 + np.exp(-t))


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


CLOSED_FORMS = {
    "Quadratic form xᵀAx": lambda v: v["A"] + v["A"].T,
    "Quadratic model ½xᵀAx − bᵀx": lambda v: (v["A"] + v["A"].T) / 2,
    "Least squares ½‖Ax − b‖²": lambda v: v["A"].T @ v["A"],
    "Ridge regression ½‖Ax − b‖² + ½λ‖x‖²": lambda v: v["A"].T @ v["A"] + v["lam"] * np.eye(3),
    "Logistic regression loss by w": lambda v: v["X"].T @ np.diag(
        _sigmoid(v["X"] @ v["w"]) * (1 - _sigmoid(v["X"] @ v["w"]))) @ v["X"],
    "Logistic loss with ±1 labels": lambda v: v["X"].T @ np.diag(
        v["y"] ** 2 * _sigmoid(v["y"] * (v["X"] @ v["w"])) * (1 - _sigmoid(v["y"] * (v["X"] @ v["w"])))) @ v["X"],
    "Softmax cross-entropy by the logits": lambda v: v["y"].sum() * (
        np.diag(_softmax(v["z"])) - np.outer(_softmax(v["z"]), _softmax(v["z"]))),
    "Log-sum-exp": lambda v: np.diag(_softmax(v["z"])) - np.outer(_softmax(v["z"]), _softmax(v["z"])),
    "One-hidden-layer tanh net by its output weights": lambda v: np.tanh(v["X"] @ v["W1"]).T @ np.tanh(
        v["X"] @ v["W1"]),
    "Log-determinant: the HVP −X⁻ᵀVᵀX⁻ᵀ": lambda v: -np.linalg.inv(v["X"]).T @ v["V"].T @ np.linalg.inv(v["X"]).T,
    "tr(XAXᵀ): the HVP V(A + Aᵀ)": lambda v: v["V"] @ (v["A"] + v["A"].T),
    "Tanh net by its output weight matrix (HVP)": lambda v: np.tanh(v["X"] @ v["W1"]).T @ np.tanh(
        v["X"] @ v["W1"]) @ v["V"],
}


@pytest.mark.parametrize("title", sorted(CLOSED_FORMS))
def test_the_textbook_closed_form(title):
    _, expression, wrt, shapes = next(e for e in WORKED_EXAMPLES if e[0] == title)
    d = _derive(expression, wrt, shapes)
    values = _point(d, seed=2)
    if title == "Logistic regression loss by w":
        values["y"] = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    expected = CLOSED_FORMS[title](values)
    assert np.allclose(_got(d, values).reshape(expected.shape), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("expression, wrt, shapes, text", [
    ("x@A@x", "x", {"x": "n", "A": "n,n"}, "A + A.T"),
    ("0.5*sum((A@x - b)**2)", "x", {"x": "n", "A": "m,n", "b": "m"}, "A.T @ A"),
    ("0.5*sum((A@x - b)**2) + 0.5*lam*sum(x**2)", "x", {"x": "n", "A": "m,n", "b": "m"}, "A.T @ A + lam*eye(n)"),
    ("-sum(y*log(sigmoid(X@w)) + (1 - y)*log(1 - sigmoid(X@w)))", "w", {"X": "N,n", "y": "N", "w": "n"},
     "X.T @ diag((1 - sigmoid(X @ w))*sigmoid(X @ w)) @ X"),
    ("logsumexp(z)", "z", {"z": "n"}, "diag(softmax(z)) - outer(softmax(z), softmax(z))"),
    ("log(det(X))", "X", {"X": "n,n"}, "-(inv(X).T @ V.T @ inv(X).T)"),
])
def test_closed_forms_read_as_the_textbooks_write_them(expression, wrt, shapes, text):
    """xᵀAx → A + Aᵀ, ½‖Ax − b‖² → AᵀA, logistic → Xᵀdiag(σ(1 − σ))X, log-sum-exp → diag(s) − ssᵀ."""
    assert _derive(expression, wrt, shapes).second.result_text == text


def test_a_neighbouring_expression_works_for_the_same_reason():
    """Not a table of known answers: B instead of A, a weighted least squares, a different name."""
    d = derive("0.5*sum((B@v - c)**2*q)", "v", shapes={"v": "k", "B": "p,k", "c": "p", "q": "p"}, hessian=True)
    rng = np.random.default_rng(3)
    values = {"v": rng.normal(size=2), "B": rng.normal(size=(4, 2)), "c": rng.normal(size=4),
              "q": rng.uniform(0.5, 1.5, 4)}
    assert np.allclose(d.evaluate(values), values["B"].T @ np.diag(values["q"]) @ values["B"])


# -- scalar variables: sympy.hessian, mixed partials once, symmetry stated -----


@pytest.mark.parametrize("expression, names", [
    ("(1 - x)**2 + 100*(y - x**2)**2", "x,y"),
    ("x**2*y + sin(x*y)", "x,y"),
    ("exp(x*y*z) + x*log(y) + z**3", "x,y,z"),
    ("tanh(a*b) / (1 + c**2)", "a,b,c"),
])
def test_scalar_hessian_equals_sympy_hessian(expression, names):
    d = derive(expression, names, hessian=True)
    symbols = [d.symbols[n] for n in d.wrt]
    expected = sympy.hessian(d.expression, symbols)
    rng = np.random.default_rng(4)
    for _ in range(4):
        point = {s: sympy.Float(rng.uniform(0.3, 1.8)) for s in symbols}
        want = np.array(expected.xreplace(point).evalf(), dtype=float)
        got = d.evaluate({str(s): float(v) for s, v in point.items()})
        assert np.allclose(got, want, rtol=1e-10, atol=1e-10)


def test_mixed_partials_are_derived_once_and_the_symmetry_is_stated():
    d = derive("x**2*y*z + sin(x*y) + z**3*x", "x,y,z", hessian=True)
    derived = {(s.lhs.numerator, s.lhs.denominator) for s in d.steps if s.kind == "substitute"}
    # row x (g_x = ∂f/∂x) is derived by x, y, z; row y by y, z; row z by z: never ∂/∂x of ∂f/∂y
    assert derived == {("g_x", "x"), ("g_x", "y"), ("g_x", "z"), ("g_y", "y"), ("g_y", "z"), ("g_z", "z")}
    (row,) = [s for s in d.steps if s.kind == "introduce" and str(s.lhs) == "g_y"]
    assert row.explanation.startswith("∂f/∂y from stage 1")
    (symmetry,) = [s for s in d.steps if s.rule == "hessian-symmetry"]
    assert "Schwarz" in symmetry.explanation and "∂²f/∂y∂x = ∂²f/∂x∂y" in symmetry.explanation
    assert d.result == d.result.T
    assert d.result[0, 1] == d.result[1, 0]


def test_stage_one_is_the_gradient_collapsed_with_its_steps_inside():
    d = derive("x@A@x", "x", shapes={"x": "n", "A": "n,n"}, hessian=True)
    first = d.steps[0]
    assert first.kind == "gradient" and first.rule == "gradient"
    plain = derive("x@A@x", "x", shapes={"x": "n", "A": "n,n"})
    assert [s.kind for s in first.inner] == plain.kinds
    assert "x @ (A.T + A)" in first.explanation
    (layout,) = [s for s in d.steps if s.rule == "hessian-jacobian-of-gradient"]
    assert "numerator layout" in layout.explanation and layout.shapes == {"result": "n×n"}
    assert d.layout == "numerator"


def test_the_hvp_step_states_the_size_it_avoided():
    d = derive("log(det(X))", "X", shapes={"X": "m,m"}, hvp=True)
    (note,) = [s for s in d.steps if s.rule == "hessian-vector-product"]
    assert "m⁴ entries" in note.explanation and "never formed" in note.explanation
    assert d.second.hessian_entries == "m⁴"
    assert d.result.shape == d.symbols["X"].shape


def test_the_direction_avoids_the_users_names():
    d = derive("log(det(X)) + sum(V*X)", "X", shapes={"X": "n,n", "V": "n,n"}, hvp=True)
    assert d.second.direction == "dX"
    values = {"X": np.eye(3) * 3 + np.triu(np.ones((3, 3)), 1), "V": np.ones((3, 3)),
              "dX": np.arange(9.0).reshape(3, 3)}
    inverse = np.linalg.inv(values["X"])
    assert np.allclose(d.evaluate(values), -inverse.T @ values["dX"].T @ inverse.T)


def test_a_vector_hvp_is_the_hessian_times_the_direction():
    shapes = {"x": "n", "A": "n,n"}
    h = derive("x@A@x", "x", shapes=shapes, hessian=True)
    v = derive("x@A@x", "x", shapes=shapes, hvp=True)
    rng = np.random.default_rng(5)
    values = {"x": rng.normal(size=3), "A": rng.normal(size=(3, 3)), "V": rng.normal(size=3)}
    assert np.allclose(np.ravel(v.evaluate(values)), h.evaluate(values) @ values["V"])


# -- the printed text can be pasted back ------------------------------------------


@pytest.mark.parametrize("title, expression, wrt, shapes", WORKED_EXAMPLES, ids=[e[0] for e in WORKED_EXAMPLES])
def test_the_result_text_reparses_to_the_same_values(title, expression, wrt, shapes):
    """parse(result text) succeeds, and NumPy computing that text alone gives the derived result."""
    d = _derive(expression, wrt, shapes)
    values = _point(d, seed=6)
    declared = {**d.declared_shapes, **({d.second.direction: d.declared_shapes[wrt]} if d.second.direction else {})}
    got = _got(d, values)
    text = d.second.result_text
    texts = _matrix_entries(text) if text.startswith("[[") else [text]  # scalar variables: entry by entry
    assert len(texts) in (1, got.size)
    pasted = []
    for entry in texts:
        parse(entry, {k: ",".join(v) for k, v in declared.items()})
        pasted.append(np.asarray(Reference(entry, declared)(values), dtype=float))
    assert np.allclose(np.reshape(pasted, got.shape), got, rtol=1e-10, atol=1e-10)


def _matrix_entries(text: str) -> list[str]:
    """The entries of `[[a, b], [c, d]]` (each a formula of the input language), split at top-level commas."""
    entries, depth, current = [], 0, ""
    for character in text[1:-1]:
        if character in "([":
            depth += 1
            if depth == 1 and character == "[":
                current = ""
                continue
        if character in ")]":
            depth -= 1
            if depth == 0 and character == "]":
                entries.append(current.strip())
                current = ""
                continue
        if character == "," and depth == 1:
            entries.append(current.strip())
            current = ""
            continue
        if depth >= 1:
            current += character
    return entries


@pytest.mark.parametrize("expression, wrt, shapes", [
    ("x@A@x", "x", {"x": "n", "A": "n,n"}),
    ("-sum(y*log(sigmoid(X@w)) + (1 - y)*log(1 - sigmoid(X@w)))", "w", {"X": "N,n", "y": "N", "w": "n"}),
    ("logsumexp(z)", "z", {"z": "n"}),
])
def test_the_gradient_text_pasted_back_differentiates_to_the_hessian(expression, wrt, shapes):
    d = derive(expression, wrt, shapes=shapes, hessian=True)
    again = derive(d.second.gradient_text, wrt, shapes=shapes, check=True)
    assert again.check.passed, again.check.failure
    values = _point(d, seed=7)
    assert np.allclose(again.evaluate(values), d.evaluate(values), rtol=1e-10, atol=1e-10)


# -- the check can fail --------------------------------------------------------------


@pytest.mark.parametrize("corrupt", [lambda r: 2 * r, lambda r: sympy.Transpose(r).doit() * 0 + r * 1.01])
def test_a_wrong_hessian_fails_the_check(corrupt):
    d = derive("0.5*sum((A@x - b)**2)", "x", shapes={"x": "n", "A": "m,n", "b": "m"}, hessian=True)
    report = verify_second(dataclasses.replace(d, result=corrupt(d.result)))
    assert not report.passed and "second differences" in report.failure


def test_a_transposed_hvp_fails_the_check():
    d = derive("log(det(X))", "X", shapes={"X": "n,n"}, hvp=True)
    assert verify_second(d).passed
    assert not verify_second(dataclasses.replace(d, result=d.result.T)).passed


def test_large_variables_are_checked_along_random_directions():
    """20 entries: uᵀHw against the mixed difference along u and w, not 400 entries one by one."""
    d = derive("x@A@x", "x", shapes={"x": "20", "A": "20,20"}, hessian=True, check=True)
    assert d.check.passed, d.check.failure
    wrong = verify_second(dataclasses.replace(d, result=sympy.MatMul(sympy.Rational(101, 100), d.result.T)))
    assert not wrong.passed and len(wrong.failure) < 1000
    h = derive("log(det(X))", "X", shapes={"X": "5,5"}, hvp=True, check=True)
    assert h.check.passed, h.check.failure
    assert not verify_second(dataclasses.replace(h, result=h.result.T)).passed


@pytest.mark.parametrize("expression, wrt, shapes, kind", [
    ("max(0, dot(w, x) + b)**2", "w", {"w": "n", "x": "n"}, "hessian"),  # a case split on a scalar
    ("sum(max(0, X@w)**2)", "w", {"w": "n", "X": "N,n"}, "hessian"),    # a mask entry by entry
    ("norm(x)", "x", {"x": "n"}, "hessian"),
    ("sum(abs(x)**3)", "x", {"x": "n"}, "hessian"),                      # smooth, though abs has a kink
    ("sum(x*x)/sum(x)", "x", {"x": "n"}, "hessian"),
    ("h = tanh(X@W1); L = 0.5*sum((h@W2 - Y)**2)", "W1", {"X": "N,d", "W1": "d,h", "W2": "h,k", "Y": "N,k"}, "hvp"),
    ("softplus(x*y)", "x,y", {}, "hessian"),
])
def test_more_shapes_of_gradient_differentiate_again(expression, wrt, shapes, kind):
    rules = ["examples/softplus.toml"] if "softplus" in expression else []
    d = derive(expression, wrt, shapes=shapes, rules=rules, check=True, **{kind: True})
    assert d.check.passed, d.check.failure
    assert d.second.result_text is not None


def test_in_a_time_limited_worker():
    d = derive("log(det(X))", "X", shapes={"X": "n,n"}, hvp=True, timeout=60)
    assert d.second.result_text == "-(inv(X).T @ V.T @ inv(X).T)"
    assert "∇²" in d.to_text()


# -- refusals ----------------------------------------------------------------------


@pytest.mark.parametrize("expression, wrt, shapes, options, message", [
    ("A@x", "x", {"A": "n,n", "x": "n"}, {"hessian": True}, "needs a scalar function"),
    ("log(det(X))", "X", {"X": "n,n"}, {"hessian": True}, "--hvp"),
    ("x*y", "x,y", {}, {"hvp": True}, "vector or matrix variable"),
    ("x@x", "x", {"x": "n"}, {"hessian": True, "hvp": True}, "ask for one"),
    ("x@A@x + y@y", "x,y", {"x": "n", "y": "n", "A": "n,n"}, {"hessian": True}, "one variable at a time"),
    ("x@x", "x", {"x": "n"}, {"hessian": True, "expand": 3}, "expand="),
    ("sum(x*x)", "x", {"x": "n,1"}, {"hessian": True}, "declare it 1-D"),
])
def test_refusals_are_clear(expression, wrt, shapes, options, message):
    with pytest.raises(DeriveError, match=message.replace("+", r"\+")):
        derive(expression, wrt, shapes=shapes, **options)


# -- the command line ------------------------------------------------------------------


def test_cli_hessian_with_check():
    result = CliRunner().invoke(app, ["x@A@x", "-w", "x", "-s", "x=n", "-s", "A=n,n", "--hessian", "--check"])
    assert result.exit_code == 0, result.output
    assert "∂²y/∂x∂xᵀ" in result.output and "check passed" in result.output


def test_cli_hvp_json():
    result = CliRunner().invoke(app, ["log(det(X))", "-s", "X=n,n", "--hvp", "-f", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert errors(document) == []
    assert document["second"]["result_text"] == "-(inv(X).T @ V.T @ inv(X).T)"
    assert document["second"]["direction"] == "V"


@pytest.mark.parametrize("arguments, message", [
    (["A@x", "-w", "x", "-s", "A=n,n", "-s", "x=n", "--hessian"], "needs a scalar function"),
    (["log(det(X))", "-s", "X=n,n", "--hessian"], "--hvp"),
])
def test_cli_refusals_exit_with_status_2(arguments, message):
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert message in result.output
