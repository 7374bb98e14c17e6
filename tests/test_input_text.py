"""Expressions quoted in notes and messages are written in the input language.

SymPy's str writes a matrix product with `*`, which the input language reads
as the element-wise product; `input_text` writes `@`, so a quoted result can
be pasted back and means what the derivation means.
"""

import numpy as np
import pytest
import sympy

from matcalc_sym import derive
from matcalc_sym.reference import reference_of
from matcalc_sym.render.terminal import input_text

MATRICES = {"A": "3,4", "X": "4,5", "B": "5,3", "C": "4,4", "Y": "4,5"}


@pytest.mark.parametrize("text, wrt", [
    ("trace(A@X@B)", "X"),
    ("sum(tanh(A@X)*(A@Y))", "X"),
    ("sum((C@X - Y)**2)", "X"),
    ("trace(C@C.T@C)", "C"),
])
def test_result_text_pasted_back_means_the_result(text, wrt):
    """The result's input-language text, derived as a new expression, has the result's value (NumPy on the text)."""
    first = derive(text, wrt, shapes=MATRICES)
    pasted = input_text(first.result)
    assert "@" in pasted
    names = sorted({str(s) for s in first.result.free_symbols if isinstance(s, sympy.MatrixSymbol)})
    again = derive(pasted, names[0], shapes=MATRICES)
    rng = np.random.default_rng(3)
    values = {k: rng.standard_normal(tuple(int(n) for n in v.split(","))) for k, v in MATRICES.items()}
    expected = first.evaluate(values)
    assert np.allclose(reference_of(again)(values), expected)


def test_cross_entropy_note_quotes_the_classic_result_with_matrix_products():
    d = derive("L = -sum(y*log(softmax(W@x + b)))", "W", shapes={"W": "k,n", "x": "n", "b": "k", "y": "k"})
    note = d.notes[-1]
    assert note.endswith("dL/dW = outer(softmax(W @ x + b) - y, x)")
    assert "W*x" not in note


def test_sums_put_positive_terms_first():
    x, y = sympy.symbols("x y")
    assert input_text(x - 2 * y) == "x - 2*y"
    assert input_text(-x - y) == "-x - y"
    assert input_text(sympy.cos(x - 1)) == "cos(x - 1)"


@pytest.mark.parametrize("text, wrt, shapes", [
    ("sum(max(0, W@x + b))", "W", {"W": "m,n", "x": "n", "b": "m"}),
    ("sum(abs(X)*Y)", "X", {"X": "m,n", "Y": "m,n"}),
    ("sum(tanh(X)*Y)", "X", {"X": "m,n", "Y": "m,n"}),
])
def test_input_text_is_plain_ascii_the_parser_accepts(text, wrt, shapes):
    from matcalc_sym.parse import parse

    written = input_text(derive(text, wrt, shapes=shapes).result)
    assert written.isascii() and "Abs" not in written
    parse(written, shapes)
