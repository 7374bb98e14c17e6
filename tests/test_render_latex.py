"""LaTeX: the paper's notation, align* blocks per step kind, and documents pdflatex compiles."""

import pytest
import sympy
from sympy import HadamardProduct, Identity, MatrixSymbol, OneMatrix, ZeroMatrix
from sympy.matrices.expressions.diagonal import DiagMatrix

from matcalc_sym import derive
from matcalc_sym.arrays import Diag, Ones
from matcalc_sym.cli import main
from matcalc_sym.render.latex import PREAMBLE, latex, math_text, text
from tests.examples import ALL, derived
from tests.latex_engine import compile_latex, needs_engine

n, m = sympy.symbols("n m", integer=True, positive=True)
x, w = MatrixSymbol("x", n, 1), MatrixSymbol("w", n, 1)
W = MatrixSymbol("W", m, n)
DIMS = {"x": 1, "w": 1, "W": 2}


@pytest.mark.parametrize(("expr", "expected"), [
    (x, r"\mathbf{x}"),
    (W, r"\mathrm{W}"),
    (W * x, r"\mathrm{W} \mathbf{x}"),
    (x.T, r"\mathbf{x}^{T}"),
    (HadamardProduct(w, x), r"\mathbf{w} \odot \mathbf{x}"),
    (HadamardProduct(w + x, x), r"\left(\mathbf{w} + \mathbf{x}\right) \odot \mathbf{x}"),
    (DiagMatrix(x), r"\operatorname{diag}\left(\mathbf{x}\right)"),
    (Diag(x), r"\operatorname{diag}\left(\mathbf{x}\right)"),
    (OneMatrix(n, 1), r"\mathbb{1}"),
    (OneMatrix(1, n), r"\mathbb{1}^{T}"),
    (Ones(1, n) * x, r"\mathbb{1}^{T} \mathbf{x}"),
    (Identity(n), r"\mathrm{I}"),
    (ZeroMatrix(1, n), r"\mathbf{0}"),
    (sympy.Symbol("x"), r"\mathbf{x}"),
    (sympy.Symbol("u1"), "u_{1}"),
    (sympy.Max(0, sympy.Symbol("z")), r"\max\left(0, z\right)"),
])
def test_printer_writes_the_papers_notation(expr, expected):
    assert latex(expr, ndim=DIMS) == expected


def test_subscripted_vector_is_bold_only_in_its_letter():
    assert latex(MatrixSymbol("u1", n, 1), ndim={"u1": 1}) == r"\mathbf{u}_{1}"
    assert latex(MatrixSymbol("Wx", n, n), ndim={"Wx": 2}) == r"\mathrm{Wx}"


def test_scalars_stay_italic_when_nothing_is_declared():
    assert latex(sympy.Symbol("x") ** 2) == "x^{2}"


def test_declared_shapes_and_introduced_vectors_print_bold_in_a_derivation():
    d = derived("ex12_dot")
    body = d.to_latex()
    assert r"\mathbf{u}_{1} &= \mathbf{w} \odot \mathbf{x}" in body
    assert r"\frac{\partial y}{\partial \mathbf{w}} &= \frac{\partial y}{\partial \mathbf{u}_{1}}" in body
    assert r"\boxed{\frac{\partial y}{\partial \mathbf{w}} = \mathbf{x}^{T}}" in body


def test_matrices_upright_in_backprop():
    body = derived("ex16_rnn_cell").to_latex()
    assert r"\frac{\partial J}{\partial \mathrm{Wx}}" in body
    assert r"\odot \frac{\partial J}{\partial \mathrm{c}}\right) \mathrm{x}^{T}}" in body


def test_example_1_blocks_rules_and_layout():
    body = derived("ex01_sin_square").to_latex()
    assert body.count(r"\begin{align*}") == 4 and body.count(r"\end{align*}") == 4
    assert [line for line in body.splitlines() if line.startswith(r"\subsection*")] == [
        r"\subsection*{1. Introduce intermediate variables}",
        r"\subsection*{2. Differentiate each intermediate variable (by $x$)}",
        r"\subsection*{3. Combine with the chain rule (by $x$)}",
        r"\subsection*{4. Substitute back (by $x$)}",
        r"\subsection*{Result}",
    ]
    assert r"u_{1} &= x^{2} && \text{intermediate-variable}" in body
    assert r"\frac{d u_{1}}{d x} &= 2 x && \text{power}" in body
    assert r"\frac{d y}{d u_{1}} &= \cos{\left(u_{1} \right)} && \text{sin}" in body
    assert (r"\frac{d y}{d x} &= \frac{d y}{d u_{1}} \frac{d u_{1}}{d x} = 2 x \cos{\left(u_{1} \right)}"
            r" && \text{single-variable chain rule}") in body
    assert "Chain rule: single-variable; layout: numerator" in body
    assert r"\boxed{\frac{d y}{d x} = 2 x \cos{\left(x^{2} \right)}}" in body
    assert r"\begin{document}" not in body


def test_standalone_is_a_complete_document():
    document = derive("sin(x**2)").to_latex(standalone=True)
    assert document.startswith(PREAMBLE)
    assert all(rf"\usepackage{{{p}}}" in document for p in ("amsmath", "amssymb", "bm"))
    assert document.rstrip().endswith(r"\end{document}")


def test_free_text_is_escaped_for_latex():
    assert text("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"
    assert text("n×n, xᵀ") == r"n$\times$n, x$^{T}$"
    assert math_text("1 = (n) ⊙ (n)") == r"\text{1 = (n) }\odot \text{ (n)}"
    assert math_text("(n)^2 a_b") == r"\text{(n)}\text{**}\text{2 a}\_\text{b}"
    assert all(ord(c) < 128 for c in text("Σᵢ eᵢ ≤ 0 ‖x‖ 🙂"))


@needs_engine
@pytest.mark.slow
@pytest.mark.parametrize("example", ALL, ids=lambda e: e.key)
def test_every_design_example_compiles_with_pdflatex(example, tmp_path):
    log = compile_latex(derived(example.key).to_latex(standalone=True), tmp_path, example.key)
    assert "Missing character" not in log
    assert "Undefined control sequence" not in log
    assert "Overfull" not in log  # nothing runs off the page


@needs_engine
@pytest.mark.slow
def test_the_students_command_compiles_cleanly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["sin(x**2)", "-o", "steps.tex", "--standalone"])
    assert exit_.value.code == 0
    log = compile_latex((tmp_path / "steps.tex").read_text(encoding="utf-8"), tmp_path, "steps")
    assert "Overfull" not in log and "LaTeX Warning" not in log


@needs_engine
def test_the_compile_check_catches_broken_latex(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="Undefined control sequence"):
        compile_latex(PREAMBLE + "\\begin{document}$\\nosuchmacro$\\end{document}\n", tmp_path)


def test_a_product_of_names_with_several_letters_keeps_them_apart():
    """\\mathrm{Wc} \\mathrm{cp} typesets as "Wccp"; a thin space keeps Wc·cp two names."""
    from matcalc_sym import derive

    d = derive("c = tanh(Wc@cp + Wx@x + b)", "Wx",
               shapes={"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"})
    latex = d.to_latex()
    assert r"\mathrm{Wc} \, \mathrm{cp}" in latex and r"\mathrm{Wx} \, \mathrm{x}" in latex
    assert r"\mathrm{W} \mathbf{x}" in derive("sum(W@x)", "W", shapes={"W": "m,n", "x": "n"}).to_latex()
