"""The parser: the input language, its limits, and that nothing is evaluated."""

import time

import pytest
import sympy

from matcalc_sym import ParseError, ShapeError, derive
from matcalc_sym.parse import parse


def test_caret_power_is_power():
    assert derive("x^3").result == 3 * sympy.Symbol("x", real=True) ** 2


def test_ln_is_natural_log_and_constants():
    x = sympy.Symbol("x", real=True)
    assert derive("ln(x)").result == 1 / x
    assert derive("pi*x + E").result == sympy.pi


def test_decimals_are_exact():
    x = sympy.Symbol("x", real=True)
    assert derive("0.5*x**2").result == x
    assert derive("x**0.5").result == 1 / (2 * sympy.sqrt(x))


def test_statements_keep_names_and_the_output_name():
    program = parse("z = x**2\nw = sin(z); w")
    assert program.output_name is None
    assert sorted(program.names.values()) == ["w", "z"]
    assert derive("z = x**2; q = sin(z)").output == "q"


@pytest.mark.parametrize(
    ("text", "column"),
    [("x + sine(x)", 4), ("x +* 2", 3), ("sin(x).__class__", 0), ("x; y ==", 7)],
)
def test_errors_carry_the_column(text, column):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.column == column


@pytest.mark.parametrize(
    "text",
    [
        "2**10**10**10",
        "gamma(10**6)",
        "cos(cos(2 - exp(10**6)))",
        "exp(exp(exp(10)))",
        "x**100000",
        "1" * 40,
        "(" * 300 + "x" + ")" * 300,
        "sin(" * 120 + "x" + ")" * 120,
        "x" * 60000,
        "1/0 + x",
    ],
)
def test_limits_refuse_quickly(text):
    start = time.monotonic()
    with pytest.raises(ParseError):
        parse(text)
    assert time.monotonic() - start < 1.0


def test_long_flat_sums_are_fine():
    program = parse("+".join(f"x**{i % 5 + 1}" for i in range(3000)))
    assert program.output.op == "add"


@pytest.mark.parametrize("text", ["ｅｖａｌ(x)", "𝑥 + 1", "x\x00", "x\x1b[31m", "sin(x)\u202e"])
def test_non_ascii_and_control_characters_are_refused(text):
    with pytest.raises(ParseError, match="not allowed"):
        parse(text)


def test_function_used_as_a_variable():
    with pytest.raises(ParseError, match="is a function"):
        parse("sin + 1")


def test_assigning_twice_or_to_a_builtin():
    with pytest.raises(ParseError, match="already defined"):
        parse("z = x; z = 2*x")
    with pytest.raises(ParseError, match="built-in"):
        parse("sin = x")


def test_shape_mismatch_names_both_shapes_and_the_operator():
    with pytest.raises(ShapeError, match=r"\(n,\) and \(m,\).*'\+'"):
        parse("a + b", {"a": "n", "b": "m"})


def test_comparison_only_inside_where():
    with pytest.raises(ParseError, match="where"):
        parse("x > 0")
    assert parse("where(x > 0, x, 0)").output.op == "where"
