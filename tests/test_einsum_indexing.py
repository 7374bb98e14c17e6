"""einsum with a literal subscripts string, and indexing with literal integers and slices (issue 16, §2).

einsum is read as the matrix algebra it names (A @ B, trace(A), sum(X * Y, axis=1), …), so its
derivatives are the existing rules'; indexing is a product with unit vectors and selection
matrices (X[0] = Xᵀe₀, X[:, 1] = X e₁, x[2] = e₂ᵀx), whose vector-Jacobian product scatters the
adjoint into zeros. Every result here is compared with finite differences of NumPy computing the
text (np.einsum, NumPy's own indexing), never with the package's translation.
"""

import numpy as np
import pytest

from matcalc_sym import ParseError, ShapeError, derive
from matcalc_sym.numeric import evaluate_expression
from tests.helpers import (
    assert_gradient_matches,
    assert_jacobian_matches,
    load_exported,
    reference_output,
    upstream_names,
)

#: (title, expression, wrt, shapes): the gallery's worked examples
WORKED_EXAMPLES = [
    ("einsum matrix product, by A with an upstream gradient", 'einsum("ij,jk->ik", A, B)', "A",
     {"A": "m,n", "B": "n,k"}),
    ("batched dot products (one per row), squared and summed", 'sum(einsum("ij,ij->i", X, Y)**2)', "X",
     {"X": "N,n", "Y": "N,n"}),
    ("einsum trace of a product", 'einsum("ii->", A@X)', "X", {"A": "n,n", "X": "n,n"}),
    ("a linear readout of the first column", "sum((W@X[:, 0] - y)**2)", "W", {"W": "k,m", "X": "m,N", "y": "k"}),
    ("the first row of a matrix, weighted", "sum(X[0]*w)", "X", {"X": "m,n", "w": "n"}),
]
#: what each worked example gives (its result in one line)
WORKED_RESULTS = [
    "(dJ/dy)*B.T",
    "2*(((X ⊙ Y)*1*1.T) ⊙ Y)",
    "A.T",
    "2*(W*X*e_0 - y)*(X*e_0).T",
    "e_0*w.T",
]

RNG = np.random.default_rng(16)
SIZES = {"m": 3, "n": 4, "k": 2, "N": 5}


def values_for(shapes: dict, upstream_of=None) -> dict:
    """Random inputs of the declared shapes (symbolic dimensions at SIZES), plus the upstream gradient
    when the output is an array."""
    values = {}
    for name, spec in shapes.items():
        dims = tuple(SIZES.get(d, int(d) if d.isdigit() else 3) for d in spec.split(","))
        values[name] = RNG.normal(size=dims) + (2 * np.eye(dims[0]) if len(dims) == 2 and dims[0] == dims[1] else 0)
    if upstream_of is not None:
        upstream = upstream_names(upstream_of)
        if upstream:
            values[upstream[0]] = RNG.normal(size=np.shape(reference_output(upstream_of, values)))
    return values


def assert_matches_numpy(d, wrt: str, shapes: dict) -> None:
    """The derivation's result equals finite differences of NumPy computing the text."""
    values = values_for(shapes, d)
    if d.rule == "backprop":
        assert_gradient_matches(d, values, wrt)
    else:
        assert_jacobian_matches(d, values)


# -- the worked examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(("example", "result"), list(zip(WORKED_EXAMPLES, WORKED_RESULTS)),
                         ids=[e[1] for e in WORKED_EXAMPLES])
def test_worked_example_is_right_and_renders_everywhere(example, result):
    _, text, wrt, shapes = example
    d = derive(text, wrt, shapes=shapes, check=True, expand=3)
    assert str(d.result) == result
    assert d.check.passed, d.check.failure
    assert d.expansion.equal
    assert_matches_numpy(d, wrt, shapes)
    assert "Result" in d.to_text()
    latex = d.to_latex(standalone=True)
    assert latex.startswith(r"\documentclass") and r"\end{document}" in latex
    assert "$$" in d.to_markdown()
    assert d.to_dict()["result"]["text"] == result
    assert load_exported(d.to_numpy())["check_gradient"]() < 1e-5


def test_the_worked_examples_read_as_matrix_algebra():
    product = derive(*WORKED_EXAMPLES[0][1:3], shapes=WORKED_EXAMPLES[0][3])
    assert 'einsum("ij,jk->ik", ...) is read as A @ B' in product.notes
    assert [s.rule for s in product.steps if s.kind == "differentiate"] == ["matmul-left"]
    trace = derive(*WORKED_EXAMPLES[2][1:3], shapes=WORKED_EXAMPLES[2][3])
    assert 'einsum("ii->", ...) is read as trace(A@X)' in trace.notes
    assert {"trace", "matmul-right"} <= {s.rule for s in trace.steps}
    readout = derive(*WORKED_EXAMPLES[3][1:3], shapes=WORKED_EXAMPLES[3][3])
    (first,) = [s for s in readout.steps if s.kind == "introduce"][:1]
    assert str(first.rhs) == "X*e_0"  # the column X[:, 0] is X e₀
    assert first.shapes["equation"] == "m = (m×N)[:, 0]"
    row = derive(*WORKED_EXAMPLES[4][1:3], shapes=WORKED_EXAMPLES[4][3])
    assert str([s for s in row.steps if s.kind == "introduce"][0].rhs) == "X.T*e_0"  # the row X[0], as a column
    (scatter,) = [s for s in row.steps if s.rule == "index-matrix"]
    assert str(scatter.rhs) == "e_0*(dy/du1).T"  # the adjoint scattered into row 0 of zeros
    assert "e₀⋅w" in row.to_text() and r"\mathbf{e}_{0} \mathbf{w}^{T}" in row.to_latex()


# -- einsum: every supported contraction, against np.einsum and finite differences -----------------

SHAPES = {"A": "m,n", "B": "n,k", "S": "n,n", "T": "n,n", "X": "m,n", "Y": "m,n", "a": "m", "b": "n", "c": "n",
          "C": "k,n", "D": "k,k"}
#: (subscripts, operands, what it is read as)
CONTRACTIONS = [
    ("ij,jk->ik", "A, B", "A @ B"),
    ("ij,j->i", "A, b", "A @ b"),
    ("i,ij->j", "a, A", "a @ A"),
    ("ii->", "S", "trace(S)"),
    ("i,j->ij", "a, b", "outer(a, b)"),
    ("ij,ij->i", "X, Y", "sum(X * Y, axis=1)"),
    ("ij,ij->j", "X, Y", "sum(X * Y, axis=0)"),
    ("ij->ji", "A", "A.T"),
    ("ij->", "A", "sum(A)"),
    ("ii->i", "S", "diag(S)"),
    ("ij,ij->ij", "X, Y", "X * Y"),
    ("i,i->", "b, c", "sum(b * c)"),
    ("ij->i", "A", "sum(A, axis=1)"),
    ("ij->j", "A", "sum(A, axis=0)"),
    ("ij,ji->", "S, T", "sum(S * T.T)"),
    ("ij,kj->ik", "A, C", "A @ C.T"),
    ("ji,jk->ik", "A, X", "A.T @ X"),
    ("ij,j->ij", "A, b", "A * b"),
    ("ij,i->ij", "A, a", "(A.T * a).T"),
    ("ii,i->i", "S, b", "diag(S) * b"),
    ("ij,jk,kl->il", "A, B, D", "(A @ B) @ D"),
    ("ij,kl->", "A, D", "sum(A) * sum(D)"),
    ("ij,jk,j->ik", "A, B, b", "(A * b) @ B"),
    ("i,j->ji", "a, b", "outer(a, b).T"),
]


def _einsum_text(subscripts: str, operands: str) -> str:
    return f'einsum("{subscripts}", {operands})'


def _numpy_einsum(subscripts: str, operands: str, values: dict):
    return np.einsum(subscripts, *[values[name.strip()] for name in operands.split(",")])


@pytest.mark.parametrize(("subscripts", "operands", "reading"), CONTRACTIONS, ids=[c[0] for c in CONTRACTIONS])
def test_einsum_translation_and_reference_agree_with_numpy(subscripts, operands, reading):
    text = _einsum_text(subscripts, operands)
    names = [name.strip() for name in operands.split(",")]
    d = derive(text, names[0], shapes={n: SHAPES[n] for n in names})
    assert f'einsum("{subscripts}", ...) is read as {reading}' in d.notes
    values = values_for({n: SHAPES[n] for n in names})
    want = _numpy_einsum(subscripts, operands, values)
    np.testing.assert_allclose(reference_output(d, values), want, rtol=1e-12)
    assert np.shape(reference_output(d, values)) == np.shape(want)
    got = np.asarray(evaluate_expression(d.expression, values, d.symbols), dtype=float)
    np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=1e-12)


@pytest.mark.parametrize(("subscripts", "operands", "reading"), CONTRACTIONS, ids=[c[0] for c in CONTRACTIONS])
def test_einsum_gradients_by_every_operand_in_reverse_mode(subscripts, operands, reading):
    names = list(dict.fromkeys(name.strip() for name in operands.split(",")))
    text = f"sum(tanh({_einsum_text(subscripts, operands)}))"
    shapes = {n: SHAPES[n] for n in names}
    for name in names:
        d = derive(text, name, shapes=shapes, mode="reverse", check=True)
        assert d.check.passed, (name, d.check.failure)
        assert_matches_numpy(d, name, shapes)


@pytest.mark.parametrize(("text", "wrt"), [
    ('einsum("i,i->", b, c)', "b"),
    ('einsum("ij,j->i", A, b)', "b"),
    ('einsum("i,ij->j", a, A)', "a"),
    ('einsum("ii,i->i", S, b)', "b"),
    ('einsum("i,i->i", b, c)', "c"),
    ('einsum("i->", b)', "b"),
    ('sin(einsum("i,i->", b, b))', "b"),
])
def test_einsum_of_vectors_in_forward_mode(text, wrt):
    names = sorted({n for n in SHAPES if n in text.split('"')[2]})
    shapes = {n: SHAPES[n] for n in names}
    d = derive(text, wrt, shapes=shapes, mode="forward", check=True)
    assert d.rule != "backprop"
    assert d.check.passed, d.check.failure
    assert_jacobian_matches(d, values_for(shapes))


def test_einsum_with_an_upstream_gradient_of_each_shape():
    """Non-scalar outputs: the vector-Jacobian product with ∂J/∂y of the output's NumPy shape."""
    for text, wrt in [('einsum("i,j->ij", a, b)', "b"), ('einsum("ij,ij->i", X, Y)', "Y"), ('einsum("ij->ji", A)', "A"),
                      ('einsum("ii->i", S)', "S")]:
        shapes = {n: SHAPES[n] for n in SHAPES if n in text.split('"')[2]}
        d = derive(text, wrt, shapes=shapes, check=True)
        assert d.check.passed, (text, d.check.failure)
        assert_matches_numpy(d, wrt, shapes)
        assert load_exported(d.to_numpy())["check_gradient"]() < 1e-5


def test_einsum_nested_and_named():
    d = derive('P = einsum("ij,jk->ik", A, B); sum(einsum("ij->ji", P) ** 2)', "B", shapes=SHAPES, check=True)
    assert d.check.passed, d.check.failure
    assert_matches_numpy(d, "B", {"A": SHAPES["A"], "B": SHAPES["B"]})


def test_a_wrong_reading_of_einsum_fails_the_check(monkeypatch):
    """The check differentiates np.einsum of the text, so a translation that transposes by mistake is caught."""
    from matcalc_sym.operations import einsum

    monkeypatch.setattr(einsum, "plan", lambda inputs, output, shapes: "u @ v.T")
    d = derive('sum(tanh(einsum("ij,jk->ik", S, T)))', "S", shapes=SHAPES, check=True)
    assert not d.check.passed


# -- indexing -------------------------------------------------------------------------------------------

INDEX_SHAPES = {"X": "3,4", "x": "5", "M": "m,n", "v": "n", "w": "4", "u": "3"}
#: (text, wrt): every kind of index, on whole-number and on symbolic dimensions
INDEXING = [
    ("sum(tanh(X[0]) * w)", "X"),
    ("sum(tanh(X[:, 1]) * u)", "X"),
    ("tanh(x[2])", "x"),
    ("sum(tanh(X[1:3]))", "X"),
    ("sum(tanh(X[:, :2]))", "X"),
    ("sum(tanh(X[-1]) * w) + X[-2, -1]**2", "X"),
    ("X[1, 2] * X[0, 3]", "X"),
    ("sum(tanh(X[1:, ::2]))", "X"),
    ("sum(sin(x[::-1]) * x)", "x"),
    ("sum(x[1:4] ** 2)", "x"),
    ("x[-1] * x[0]", "x"),
    ("sum(exp(X[0][1:3]))", "X"),
    ("sum(tanh(X.T[1]))", "X"),
    ("sum(tanh((X @ X.T)[0]))", "X"),
    ("sum(tanh(M[0]) * v)", "M"),
    ("sum(tanh(M[-1]) * v)", "M"),
    ("sum(tanh(M[:, -1])) + M[0, 0] * M[-1, -1]", "M"),
    ("sum(tanh(M[:1])) + sum(M[-1:] ** 2)", "M"),
    ("sum(tanh(M[:, :1]) * M[:, -1:])", "M"),
    ("v[0] * sum(v[-1:] * v)", "v"),
]


@pytest.mark.parametrize(("text", "wrt"), INDEXING, ids=[c[0] for c in INDEXING])
@pytest.mark.parametrize("mode", ["auto", "reverse"])
def test_indexing_gradients_match_numpy(text, wrt, mode):
    shapes = {n: s for n, s in INDEX_SHAPES.items() if n in text}
    d = derive(text, wrt, shapes=shapes, mode=mode, check=True)
    assert d.check.passed, d.check.failure
    assert_matches_numpy(d, wrt, shapes)


@pytest.mark.parametrize(("text", "index"), [
    ("X[0]", np.s_[0]),
    ("X[:, 1]", np.s_[:, 1]),
    ("x[2]", np.s_[2]),
    ("X[1:3]", np.s_[1:3]),
    ("X[:, :2]", np.s_[:, :2]),
    ("X[-1, -2]", np.s_[-1, -2]),
    ("X[-2:, 1::2]", np.s_[-2:, 1::2]),
    ("X[0, :1]", np.s_[0, :1]),
    ("x[::-2]", np.s_[::-2]),
    ("x[-1:]", np.s_[-1:]),
    ("M[-1]", np.s_[-1]),
    ("M[:1, -1]", np.s_[:1, -1]),
])
def test_indexing_translation_and_reference_agree_with_numpy(text, index):
    shapes = {n: s for n, s in INDEX_SHAPES.items() if n in text}
    d = derive(text, text[0], shapes=shapes)
    values = values_for(shapes)
    want = values[text[0]][index]  # NumPy's own indexing
    assert np.shape(reference_output(d, values)) == np.shape(want)
    np.testing.assert_allclose(reference_output(d, values), want, rtol=1e-12)
    got = np.asarray(evaluate_expression(d.expression, values, d.symbols), dtype=float)
    np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=1e-12)


@pytest.mark.parametrize(("text", "wrt", "result"), [
    ("x[2]", "x", "e_2.T"),
    ("sum(x[1:4] ** 2)", "x", "2*(S[1:4]*x).T*S[1:4]"),
    ("x[-1] * x[0]", "x", "(e_0.T*x)*e_4.T + (e_4.T*x)*e_0.T"),  # x has 5 entries: x[-1] is e₄ᵀx
    ("v[-1] * v[0]", "v", "(e_-1.T*v)*e_0.T + (e_0.T*v)*e_-1.T"),  # v has n: e₋₁, the last whatever n
    ("sum(sin(v[:1]))", "v", "1*diag(cos(e_0.T*v))*e_0.T"),
])
def test_indexing_of_vectors_in_forward_mode_reads_as_unit_vectors(text, wrt, result):
    shapes = {n: s for n, s in INDEX_SHAPES.items() if n in text}
    d = derive(text, wrt, shapes=shapes, mode="forward", check=True)
    assert d.check.passed, d.check.failure
    assert str(d.result) == result
    assert "index-vector" in [s.rule for s in d.steps if s.kind == "differentiate"]
    assert_jacobian_matches(d, values_for(shapes))


@pytest.mark.parametrize(("text", "index", "result"), [
    ("X[0]", np.s_[0], "e_0*(dJ/dy).T"),
    ("X[:, 1]", np.s_[:, 1], "(dJ/dy)*e_1.T"),
    ("X[1, 2]", np.s_[1, 2], "e_1*e_2.T"),
    ("X[1:3]", np.s_[1:3], "S[1:3].T*(dJ/dy)"),
    ("X[:, :2]", np.s_[:, :2], "(dJ/dy)*S[0:2]"),
    ("X[-1, 1:3]", np.s_[-1, 1:3], "e_2*(dJ/dy).T*S[1:3]"),
    ("M[:1, -1]", np.s_[:1, -1], "e_0*(dJ/dy)*e_-1.T"),
])
def test_the_adjoint_of_indexing_is_scattered_into_zeros(text, index, result):
    wrt = text[0]
    shapes = {wrt: INDEX_SHAPES[wrt]}
    d = derive(text, wrt, shapes=shapes, check=True)
    assert d.check.passed, d.check.failure
    assert str(d.result) == result
    values = values_for(shapes, d)
    gradient = np.asarray(d.evaluate(values), dtype=float)
    untouched = np.ones(gradient.shape, dtype=bool)
    untouched[index] = False
    assert np.all(gradient[untouched] == 0)  # zeros wherever the index did not reach
    assert np.all(gradient[~untouched] != 0)
    assert_matches_numpy(d, wrt, shapes)


def test_indexing_renders_in_every_format_and_exports():
    d = derive("sum(tanh(X[1:3, ::2])) + X[-1, 0] * x[-1]", "X", shapes={"X": "3,4", "x": "n"}, check=True, expand=2)
    assert d.check.passed and d.expansion.equal
    text = d.to_text()
    assert "S[1:3]" in text and "e₂" in text
    latex = d.to_latex(standalone=True)
    assert r"\mathrm{S}_{1:3}" in latex and r"\mathbf{e}_{-1}" in latex
    assert "indexing is matrix algebra" in d.to_markdown()
    assert d.to_dict()["result"]["text"]
    assert load_exported(d.to_numpy())["check_gradient"]() < 1e-5


def test_a_wrong_index_in_the_translation_fails_the_check(monkeypatch):
    """The check indexes with NumPy, so a translation that took the wrong row is caught."""
    from matcalc_sym.operations import indexing

    right = indexing._left
    monkeypatch.setattr(indexing, "_left", lambda entry, dim: right(("take", 1) if entry[0] == "take" else entry, dim))
    d = derive("sum(tanh(X[0]) * w)", "X", shapes=INDEX_SHAPES, check=True)
    assert not d.check.passed


def test_whole_axes_are_the_array_itself():
    d = derive("sum(X[:] * X[:, :])", "X", shapes=INDEX_SHAPES)
    assert d.expression == derive("sum(X * X)", "X", shapes=INDEX_SHAPES).expression
    assert not any("indexing" in note for note in d.notes)


def test_indexing_a_constant_array_and_the_exported_code():
    d = derive("sum(x * ones(n)[0]) + x[0] * eye(n)[-1, -1]", "x", shapes={"x": "n"}, check=True)
    assert d.check.passed, d.check.failure
    assert load_exported(d.to_numpy())["check_gradient"]() < 1e-5


# -- refused, with a clear message -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "error", "message"), [
    ("X[3]", ShapeError, r"index 3 is out of bounds for axis 0 with size 3"),
    ("X[0, -5]", ShapeError, r"index -5 is out of bounds for axis 1 with size 4"),
    ("X[2:1]", ShapeError, r"the slice selects nothing along axis 0 \(size 3\)"),
    ("X[::0]", ShapeError, r"a slice step cannot be zero"),
    ("x[0, 1]", ShapeError, r"x has shape \(5,\), 1 axis\(es\), but 2 indices were given"),
    ("M[1]", ShapeError, r"index 1 on axis 0, of symbolic size m: only 0 \(the first\) and -1 \(the last\)"),
    ("M[:, 1:3]", ShapeError, r"along axis 1, of symbolic size n, this slice's length depends on n"),
    ("M[::-1]", ShapeError, r"only ':', ':1' and '-1:' are valid for every size"),
    ("s[0]", ShapeError, r"indexing: s is a scalar"),
    ("X[n]", ParseError, r"indexing takes whole numbers and slices of whole numbers"),
    ("X[s]", ParseError, r"indexing takes whole numbers"),
    ("X[0.5]", ParseError, r"indexing takes whole numbers"),
    ("X[True]", ParseError, r"indexing takes whole numbers"),
    ("X[None]", ParseError, r"indexing takes whole numbers"),
    ("X[...]", ParseError, r"indexing takes whole numbers"),
    ("X[[0, 1]]", ParseError, r"indexing takes whole numbers"),
    ("X[1+1]", ParseError, r"indexing takes whole numbers"),
    ("X[0:s]", ParseError, r"indexing takes whole numbers"),
    ("X['a']", ParseError, r"indexing takes whole numbers"),
    ("X[(0, 1), 1]", ParseError, r"indexing takes whole numbers"),
    ("X[0] = 1", ParseError, r"only 'name = expression' assignments"),
])
def test_bad_indices_are_clear_errors(text, error, message):
    with pytest.raises(error, match=message):
        derive(text, "X", shapes={**INDEX_SHAPES, "M": "m,n"})


@pytest.mark.parametrize(("text", "error", "message"), [
    ('einsum("ij,jk->ik", A)', ParseError, r"einsum\(\): 'ij,jk->ik' names 2 operand\(s\), but 1 were given"),
    ('einsum("ij->ji")', ParseError, r"names 1 operand\(s\), but 0 were given"),
    ('einsum(A, B)', ParseError, r"einsum\(\) takes its subscripts first, as a string literal"),
    ('einsum()', ParseError, r"takes its subscripts first"),
    ('einsum("ij,jk", A, B)', ParseError, r"exactly one '->'"),
    ('einsum("ij->ji->ij", A)', ParseError, r"exactly one '->'"),
    ('einsum("IJ->JI", A)', ParseError, r"only lowercase letters, ',' and '->' \(found U\+0049\)"),
    ('einsum("i j->j", A)', ParseError, r"found U\+0020"),
    ('einsum("...ij->ij", A)', ParseError, r"found U\+002E"),
    ('einsum("ijk->i", A)', ParseError, r"1 or 2 letters per operand"),
    ('einsum("ij,,jk->ik", A, B)', ParseError, r"1 or 2 letters per operand"),
    ('einsum("ij->iij", A)', ParseError, r"1 or 2 letters per operand"),
    ('einsum("ij->ii", S)', ParseError, r"output letter 'i' appears twice"),
    ('einsum("ij->k", A)', ParseError, r"output letter 'k' of 'ij->k' appears in no operand"),
    ('einsum("ij,jk->ik", A, A)', ShapeError, r"letter 'j' of 'ij,jk->ik' is n in operand 1 \(shape \(m, n\)\) but m"),
    ('einsum("i->", A)', ShapeError, r"operand 1 is of shape \(m, n\), but 'i' in 'i->' gives it 1 axis"),
    ('einsum("i->", s)', ShapeError, r"operand 1 is a scalar"),
    ('einsum("ij,kl->ijkl"[0:3], A, B)', ParseError, r"takes its subscripts first"),
    ('einsum("ij,jk->ijk", A, B)', ParseError, r"1 or 2 letters per operand"),
    ('einsum("ij->ji", A, subscripts=1)', ParseError, r"einsum\(\) takes no keyword argument 'subscripts'"),
    ('einsum(f"ij->ji", A)', ParseError, r"takes its subscripts first"),
    ('einsum(b"ij->ji", A)', ParseError, r"takes its subscripts first"),
    ('einsum("ij->ji", "ij")', ParseError, r"strings: not part of the input language"),
    ('sum("ij->ji")', ParseError, r"strings: not part of the input language"),
    ('A + "ij->ji"', ParseError, r"strings: not part of the input language"),
    ('"ij->ji"[0]', ParseError, r"strings: not part of the input language"),
    ('einsum = A', ParseError, r"'einsum' is a built-in name"),
    ('einsum + A', ParseError, r"'einsum' is a function"),
])
def test_bad_einsum_calls_are_clear_errors(text, error, message):
    with pytest.raises(error, match=message):
        derive(text, "A", shapes={"A": "m,n", "B": "n,k", "S": "n,n"})


@pytest.mark.parametrize("subscripts", [
    "ij\\x1b[2J->ji",  # an escape sequence for the terminal
    'i\\"j->ji',  # a quote inside the string
    "\\u0041->a",  # a unicode escape
    "__class__",  # a dunder
    "i" * 10_000 + "->",  # far too long
    "ij->ji\\n#",  # a line break and a comment
])
def test_hostile_subscripts_are_refused_without_being_echoed(subscripts):
    with pytest.raises(ParseError) as caught:
        derive(f'einsum("{subscripts}", A)', "A", shapes={"A": "m,n"})
    message = caught.value.message
    assert message.startswith("einsum(): ")
    assert "\x1b" not in message and '"' not in message and "class" not in message and "iiiiii" not in message


def test_a_contraction_that_needs_three_axes_is_refused():
    """Arrays have at most two axes: an outer product of a matrix and a vector sharing nothing is refused."""
    from matcalc_sym.operations.einsum import _combine

    with pytest.raises(ShapeError, match="'ij,jk->ik' needs an intermediate array of 3 axes"):
        _combine(("u", "ij"), ("v", "jk"), {"i", "j", "k"}, "ij,jk->ik")


# -- the exported code: the reference's NumPy source, and nothing of the input text ---------------------


@pytest.mark.parametrize("text", [
    'einsum("ij,jk->ik", A, B)', 'einsum("ii->", S) + sum(einsum("i,j->ij", a, b))', 'einsum("ij,ij->i", A, A)',
    "A[0]", "A[:, -1]", "S[1:3, ::2]", "b[::-1]", "A[-1, 0] * b[2]", 'einsum("ij->ji", A)[1][:2]',
])
def test_the_exported_reference_computes_what_the_reference_computes(text):
    from matcalc_sym.reference import Reference
    from matcalc_sym.reference_code import HELPERS, numpy_statements

    shapes = {"A": ("3", "4"), "B": ("4", "2"), "S": ("4", "4"), "a": ("3",), "b": ("4",)}
    values = {name: RNG.normal(size=tuple(int(d) for d in shape)) for name, shape in shapes.items()}
    namespace = {"_np": np, "_math": __import__("math"), **values}
    exec(HELPERS, namespace)  # noqa: S102 - the package's own fixed helper code
    result = None
    for target, code in numpy_statements(text, lambda name: name):
        result = eval(code, namespace)  # noqa: S307 - generated from the syntax tree, see reference_code
        if target is not None:
            namespace[target] = result
    np.testing.assert_allclose(result, Reference(text, shapes)(values), rtol=1e-12)


def test_exported_einsum_code_holds_only_validated_subscripts():
    from matcalc_sym.reference_code import numpy_statements

    code = numpy_statements('einsum("ik,kj->ij", A, B) # """; import os', lambda name: f"v_{name}")
    assert code == [(None, "_np.einsum('ab,bc->ac', v_A, v_B)")]  # spelled afresh: no input text in the code
    assert numpy_statements("X[-1, 1::2]", lambda name: name) == [(None, "(X)[-1, 1::2]")]
    module = derive('einsum("ik,kj->ij", A, B) # """; import os', "A", shapes={"A": "m,n", "B": "n,k"}).to_numpy()
    assert "import os" not in module and "ik,kj" not in module and module.count("'ab,bc->ac'") == 1
    assert load_exported(module)["check_gradient"]() < 1e-5


def test_unit_vectors_of_a_long_vector_never_build_an_identity(monkeypatch):
    """e₀ of 100 000 entries is a column of that length; an identity would be 10¹⁰ entries."""
    d = derive("x[0] * x[-1] + sum(x[2:5])", "x", shapes={"x": "100000"})
    values = {"x": RNG.normal(size=100_000)}

    def refused(*args, **kwargs):
        raise AssertionError("an identity matrix was built")

    monkeypatch.setattr(np, "eye", refused)
    jacobian = d.evaluate(values)
    assert jacobian.shape == (1, 100_000)
    assert jacobian[0, 0] == pytest.approx(values["x"][-1]) and jacobian[0, -1] == pytest.approx(values["x"][0])
    assert np.all(jacobian[0, 2:5] == 1) and np.count_nonzero(jacobian) == 5


def test_a_slice_and_entries_of_one_vector_add_in_backprop():
    """Selection.rows (the picked indices) shadowed SymPy's MatrixExpr.rows (the row count): a sum of a
    slice's adjoint and an entry's raised TypeError in reverse mode."""
    for mode in ("reverse", "auto"):
        d = derive("x[0]*x[-1] + sum(x[2:5])", "x", shapes={"x": "10"}, mode=mode, check=True)
        assert d.check.passed, d.check.failure
        values = {"x": np.arange(1.0, 11.0)}
        expected = np.zeros(10)
        expected[0], expected[9], expected[2:5] = 10.0, 1.0, 1.0
        assert np.allclose(np.asarray(d.evaluate(values), dtype=float).reshape(-1), expected)
