"""Helpful errors and notes: columns with carets, "did you mean", zero derivatives, shapes."""

from __future__ import annotations

import sympy
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from matcalc_sym.errors import ParseError
from matcalc_sym.hints import did_you_mean, unused_shape_notes
from matcalc_sym.parse import parse

runner = CliRunner()
x = sympy.Symbol("x", real=True)


def test_did_you_mean_ignores_case_and_is_looser_for_short_names():
    assert did_you_mean("W", ["w", "x"]) == " (did you mean 'w'?)"
    assert did_you_mean("x3", ["x1", "y"]) == " (did you mean 'x1'?)"
    assert did_you_mean("alpah", ["alpha", "beta"]) == " (did you mean 'alpha'?)"
    assert did_you_mean("q", ["x", "y"]) == ""
    assert did_you_mean("x", ["x"]) == ""  # never suggest the name itself


def test_wrt_not_in_the_expression_is_zero_with_a_suggestion():
    derivation = derive("sin(alpha) + beta", wrt="alpah")
    assert derivation.result == 0
    assert derivation.notes == ("y does not depend on alpah, so its derivative by alpah is 0 "
                                "(did you mean 'alpha'?)",)


def test_wrt_far_from_every_variable_gets_no_suggestion():
    derivation = derive("sin(x)", wrt="q")
    assert derivation.result == 0
    assert derivation.notes == ("y does not depend on q, so its derivative by q is 0",)


def test_wrt_note_on_the_command_line():
    result = runner.invoke(app, ["x1*x2", "-w", "x3", "-f", "text"])
    assert result.exit_code == 0
    assert "note: y does not depend on x3, so its derivative by x3 is 0 (did you mean 'x2'?)" in result.stdout


def test_a_shape_declared_for_an_unused_name_is_noted():
    derivation = derive("w*x", wrt="w", shapes={"w": "n", "X": "n"})
    assert derivation.notes == ("a shape was declared for 'X', which the expression does not use "
                                "(did you mean 'x'?)",)
    assert unused_shape_notes({"w": "n"}, ["w"]) == []
    assert unused_shape_notes({"n": "3"}, ["w"], dimensions=["n"]) == []


def test_indentation_is_ignored_and_columns_still_point_at_the_input():
    assert derive("   sin(x**2)").result == 2 * x * sympy.cos(x**2)
    assert derive("  z = x**2\n\t y = sin(z)").output == "y"
    try:
        parse("  \tsin(x) + sine(x)")
    except ParseError as exc:
        assert exc.column == 12
        assert exc.caret() == "     sin(x) + sine(x)\n              ^"
    else:
        raise AssertionError("sine is not a function")


def test_numbers_beyond_cpythons_digit_limit_get_a_plain_message():
    result = runner.invoke(app, ["x + " + "9" * 5000])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: syntax error: a number with more than 4300 digits is far too large")


def test_long_equations_wrap_instead_of_crashing():
    """A wrapped line used to raise KeyError('use_unicode') inside SymPy's renderer."""
    result = runner.invoke(app, ["x**x**x**x**x**x", "-f", "text"])
    assert result.exit_code == 0
    assert "↪" in result.stdout  # SymPy's continuation mark on wrapped lines
    assert result.stderr == ""


def test_shape_mismatch_names_both_shapes_the_operator_and_the_column():
    result = runner.invoke(app, ["sin(a) + b", "-s", "a=n", "-s", "b=m", "-w", "a"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: shapes (n,) and (m,) do not broadcast together for '+' (column 8)",
        "  sin(a) + b",
        "         ^",
    ]


def test_errors_inside_a_function_definition_point_at_the_call_and_name_it():
    result = runner.invoke(app, ["x + dot(a, b)", "-s", "a=n", "-s", "b=m", "-w", "x"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: dot(): shapes (n,) and (m,) do not fit for '@' (n ≠ m) (column 5)",
        "  x + dot(a, b)",
        "      ^",
    ]


def test_vector_matmul_mismatch_points_at_the_operator():
    result = runner.invoke(app, ["x + a@b", "-s", "a=n", "-s", "b=m", "-w", "x"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: shapes (n,) and (m,) do not fit for '@' (n ≠ m) (column 6)",
        "  x + a@b",
        "       ^",
    ]


def test_carriage_returns_end_lines_like_python_does():
    """Found by atheris: after a bare \\r, decimals were read from the wrong span of the text."""
    assert derive("1-0\r0.5*x").result == sympy.Rational(1, 2)
    assert derive("z = x**2\r\ny = 0.25*z").result == x / 2
    try:
        parse("x\r  sine(x)")
    except ParseError as exc:
        assert exc.column == 4
        assert exc.caret() == "    sine(x)\n    ^"
    else:
        raise AssertionError("sine is not a function")
