"""Valid input gets an answer or one clear error: never an internal error, a wrong rendering or an exhausted machine."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from matcalc_sym.errors import DeriveError, ParseError

runner = CliRunner()
x = sympy.Symbol("x", real=True)


def _cli(*args: str):
    return runner.invoke(app, [*args, "-f", "text"], env={"NO_COLOR": "1", "COLUMNS": "100"})


@pytest.mark.parametrize(("text", "latex"), [
    ("max(x, y)**3", r"3 \max\left(x, y\right)^{2}"),
    ("min(x, 2)**2", r"2 \min\left(2, x\right)"),
    ("max(x, y)**3/min(x, y)**2", r"\min\left(x, y\right)^{3}"),
])
def test_powers_of_max_and_min_print_in_latex_markdown_and_json(text, latex):
    """`_print_Max() got an unexpected keyword argument 'exp'` in every LaTeX-based format."""
    d = derive(text, "x")
    assert latex in d.to_latex()
    assert latex in d.to_markdown()
    assert latex in json.loads(json.dumps(d.to_dict()))["result"]["latex"]
    for fmt in ("latex", "markdown", "json"):
        result = runner.invoke(app, [text, "-w", "x", "-f", fmt])
        assert result.exit_code == 0, result.stderr


def test_expand_by_a_variable_the_output_ignores_compares_zeros():
    """The variable has its declared shape even when unused, so its zero derivative can be written out."""
    d = derive("x**2", "y", expand=3)
    assert d.expansion.equal and d.result == 0
    vector = derive("sum(w)", "v", shapes={"w": "n", "v": "n"}, expand=2)
    assert vector.expansion.equal and vector.expansion.vector_result.shape == (1, 2)
    result = runner.invoke(app, ["x**2", "-w", "y", "--expand", "3"])
    assert result.exit_code == 0


@pytest.mark.parametrize(("text", "fragment", "column"), [
    ("where(asin(3) > x, x, 0)", "not a real number (asin(3))", 6),
    ("max(asin(3), x)", "not a real number (asin(3))", 4),
    ("x*sqrt(-1)", "not a real number (sqrt(-1))", 2),
])
def test_complex_constants_are_a_parse_error(text, fragment, column):
    with pytest.raises(ParseError) as caught:
        derive(text, "x")
    assert fragment in str(caught.value) and caught.value.column == column
    result = _cli(text, "-w", "x")
    assert result.exit_code == 2 and "internal error" not in result.stderr


def test_constants_in_dimensions_are_bounded_at_the_largest_dimension():
    """gamma(gamma(gamma(n+3))) passed the constant bounds (n is a symbol) and overflowed in the check."""
    with pytest.raises(ParseError, match="too large when n = 4096"):
        derive("sum(w)*gamma(gamma(gamma(n+3)))", "w", shapes={"w": "n"}, check=True)
    result = _cli("sum(w)*gamma(gamma(gamma(n+3)))", "-w", "w", "-s", "w=n", "--check")
    assert result.exit_code == 2 and "too large when n = 4096" in result.stderr
    d = derive("sum(w)*sqrt(n)/(n-1)", "w", shapes={"w": "n"}, check=True)  # the usual uses still work
    assert d.check.passed


def test_a_declared_huge_dimension_is_refused_before_check_or_expand_allocate():
    start = time.perf_counter()
    for option in ({"check": True}, {"expand": 3}):
        with pytest.raises(DeriveError, match=r"999999×999999 = 999998000001 entries; the limit is 4000000"):
            derive("w*x", "w", shapes={"w": "999999", "x": "999999"}, **option)
    assert time.perf_counter() - start < 5
    assert derive("w*x", "w", shapes={"w": "40", "x": "40"}, check=True).check.passed


def test_evaluate_refuses_an_array_beyond_the_dense_limit_before_allocating():
    d = derive("w*x", "w", shapes={"w": "n", "x": "n"})
    with pytest.raises(DeriveError, match=r"evaluate\(\) would build an array of 5000×5000"):
        d.evaluate({"w": np.ones(5000), "x": np.ones(5000)})
    assert np.array_equal(d.evaluate({"w": np.ones(3), "x": np.arange(3.0)}), np.diag([0.0, 1.0, 2.0]))


def test_a_product_of_high_powers_simplifies_in_a_moment():
    """`cancel` spent minutes multiplying (x+1)**1000*(x-1)**1000 out inside the library (no timeout)."""
    start = time.perf_counter()
    d = derive("(x+1)**1000*(x-1)**1000")
    assert time.perf_counter() - start < 5
    assert d.result == 2000 * x * (x - 1) ** 999 * (x + 1) ** 999


@pytest.mark.parametrize(("name", "misread_latex"), [("x__2", "x^{2}"), ("xdot", r"\dot{x}"), ("xbar", r"\bar{x}"),
                                                     ("ahat", r"\hat{a}"), ("pnorm", r"\left\|{p}\right\|")])
def test_names_print_as_written_not_as_sympy_reads_them(name, misread_latex):
    d = derive(f"{name}**2 + 3*{name}", name)
    text = d.to_text()
    assert f"d{d.output}/d{name}" in text.splitlines()[0]
    assert f"3 + 2⋅{name}" in text
    latex = d.to_latex()
    assert misread_latex not in latex
    assert r"\mathit{" + name.replace("_", r"\_") + "}" in latex


def test_subscripts_still_print_as_subscripts():
    assert "u₁" in derive("sin(x**2)").to_text()
    assert "x_{1}" in derive("x_1**2", "x_1").to_latex()


def test_an_unused_wrt_never_names_the_output():
    """`derive "sin(x**2)" -w y` printed dy/dy = 0: the output took the name y."""
    d = derive("sin(x**2)", "y")
    assert d.output != "y" and d.result == 0
    assert d.notes == (f"{d.output} does not depend on y, so its derivative by y is 0",)
    result = _cli("sin(x**2)", "-w", "y")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "df/dy  of  sin(x**2)"
    assert "dy/dy" not in result.stdout


@pytest.mark.parametrize(("text", "wrt"), [("z = x**2; y = sin(z)", "z"), ("z = x**2; q = sin(z)", "q")])
def test_differentiating_by_an_assigned_name_is_a_clear_error(text, wrt):
    with pytest.raises(DeriveError, match=rf"wrt: '{wrt}' is assigned in the expression .* \(here: x\)"):
        derive(text, wrt)
