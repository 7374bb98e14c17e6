"""Large expressions: LaTeX read off the factors, one-line terminal form.

Above `printable.LARGE` tree nodes SymPy's printers are too slow (the LaTeX
printer asks assumptions of every subterm; a 2-D layout of thousands of terms
cannot be read), so both formats change how they print, never what.
"""

from __future__ import annotations

import pytest
import sympy
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from matcalc_sym.render.latex import MatcalcLatexPrinter
from matcalc_sym.render.printable import LARGE, is_large
from matcalc_sym.render.terminal import linear_equation

x, y = sympy.symbols("x y", real=True)
DEEP_NEST = "".join(f"{f}(" for f in ["sin", "cos", "exp", "tanh"] * 24) + "x" + ")" * 96


def large_mode_latex(expr) -> str:
    printer = MatcalcLatexPrinter()
    printer._large = True  # as doprint sets it for an expression above LARGE nodes
    return printer._print(expr)


@pytest.mark.parametrize(("expr", "latex"), [
    (sympy.Mul(x, sympy.Pow(y, -1, evaluate=False), evaluate=False), r"\frac{x}{y}"),
    (sympy.Mul(-2, x, sympy.Pow(y, -2, evaluate=False), evaluate=False), r"- \frac{2 \cdot x}{y^{2}}"),
    (sympy.Mul(-1, sympy.sin(x), evaluate=False), r"- \sin{\left(x \right)}"),
    (sympy.Pow(x + y, -1, evaluate=False), r"\frac{1}{x + y}"),
    (sympy.Mul(x + y, sympy.cos(x), evaluate=False), r"\left(x + y\right) \cdot \cos{\left(x \right)}"),
    (sympy.Mul(-1, x + y, evaluate=False), r"- \left(x + y\right)"),
    (sympy.Mul(-3, x + y, evaluate=False), r"- 3 \cdot \left(x + y\right)"),
])
def test_large_mode_reads_products_and_quotients_off_the_factors(expr, latex):
    assert large_mode_latex(expr) == latex


def test_small_expressions_keep_sympys_layout():
    assert MatcalcLatexPrinter().doprint(-2 * x / y**2) == sympy.latex(-2 * x / y**2)


def test_the_one_line_form_is_input_the_parser_reads_back_to_the_same_function():
    result = derive(DEEP_NEST, "x").result
    assert is_large(result)
    text = linear_equation([result], 10**9)  # no folding
    again = derive(text, "x").expression
    (xr,) = again.free_symbols
    for point in (0.1, 0.37, -0.4):
        assert float(again.subs(xr, point)) == pytest.approx(float(result.subs(x, point)), rel=1e-12)


def test_a_large_result_prints_in_folded_lines_within_the_width():
    runner = CliRunner()
    out = runner.invoke(app, [DEEP_NEST, "-f", "text", "--timeout", "30"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines)
    result_block = out.stdout[out.stdout.index("Result"):]
    assert "tanh(" in result_block and "**" in result_block  # one-line form, not 2-D art
    assert LARGE == 400


def test_latex_of_a_large_derivation_is_balanced():
    d = derive(DEEP_NEST, "x")
    latex = d.to_latex()
    assert latex.count("{") == latex.count("}")
    assert latex.count(r"\left(") == latex.count(r"\right)")
    assert r"\boxed{" in latex


MANY_TERMS = "+".join(f"tanh(x**{k % 5 + 2} - {k})" for k in range(1, 60))


def test_a_long_derivation_prints_one_line_per_step_with_its_rule():
    from matcalc_sym.render.terminal import COMPACT_STEPS, _LinearPrinter

    d = derive(MANY_TERMS, "x")
    assert len(d.steps) > COMPACT_STEPS
    text = d.to_text()
    assert f"{len(d.steps)} steps: one line each" in text
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines)
    printer = _LinearPrinter()
    differentiate = [s for s in d.steps if s.kind == "differentiate"]
    for step in differentiate:
        wanted = f"{printer.doprint(step.lhs)} = {printer.doprint(step.rhs)}"
        line = next(line for line in lines if f" {wanted} " in line)  # each step on a line of its own
        assert line.rstrip(" │").endswith(step.rule)
    assert "du3/du2 = 1 - tanh(u2)**2" in text  # the tanh rule, in the input language


def test_a_short_derivation_keeps_the_2d_layout():
    d = derive("sin(x**2)", "x")
    text = d.to_text()
    assert "one line each" not in text
    assert "⎛ 2⎞" in text  # SymPy's stacked parentheses around x²


def test_the_one_line_form_writes_matrix_products_with_at_as_the_input_does():
    from matcalc_sym.render.terminal import _LinearPrinter

    W, A = sympy.MatrixSymbol("W", 3, 3), sympy.MatrixSymbol("A", 3, 3)
    v = sympy.MatrixSymbol("v", 3, 1)
    printer = _LinearPrinter()
    assert printer.doprint(W * v) == "W @ v"
    assert printer.doprint(-3 * W.T * (A + W) * v) == "-3*W.T @ (A + W) @ v"
    assert printer.doprint(-W * v) == "-W @ v"


def test_the_one_line_form_writes_a_difference_as_a_difference():
    from matcalc_sym.render.terminal import _LinearPrinter

    a, b = sympy.symbols("a b")
    printer = _LinearPrinter()
    assert printer.doprint(sympy.Add(a, sympy.Mul(-1, 1, evaluate=False), evaluate=False)) == "a - 1"
    assert printer.doprint(sympy.Add(a, sympy.Mul(-1, b + 1, evaluate=False), evaluate=False)) == "a - (1 + b)"  # order "none": as built
    assert "u2 = u1 - 1 " in derive(MANY_TERMS, "x").to_text()


def _count_sympy_products(monkeypatch) -> list:
    from sympy.printing.latex import LatexPrinter

    calls: list = []
    original = LatexPrinter._print_Mul

    def counting(self, expr):
        calls.append(expr)
        return original(self, expr)

    monkeypatch.setattr(LatexPrinter, "_print_Mul", counting)
    return calls


def test_a_long_derivations_steps_read_products_off_their_factors(monkeypatch):
    """Issue 19: with more than COMPACT_STEPS steps, SymPy's product layout (which builds and asks
    new expressions) is never used for a step; the title and a small result keep it (150 x^{149})."""
    from matcalc_sym.render.terminal import COMPACT_STEPS

    terms = " + ".join(f"x**{k}*y*sin(x*{k})" for k in range(1, 40))
    derivation = derive(terms, "x")
    assert len(derivation.steps) > COMPACT_STEPS
    calls = _count_sympy_products(monkeypatch)
    latex = derivation.to_latex()
    document = derivation.to_dict()
    step_products = {id(step.rhs) for step in derivation.steps} | {id(step.formula) for step in derivation.steps}
    assert not [expr for expr in calls if id(expr) in step_products]
    assert r" \cdot " in document["steps"][-1]["rhs"]["latex"] or r" \cdot " in latex

    short = derive("x**3*y*sin(x)", "x")
    assert len(short.steps) <= COMPACT_STEPS
    calls.clear()
    short.to_latex()
    assert calls, "a short derivation keeps SymPy's layout of products"
