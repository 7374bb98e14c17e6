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


@pytest.mark.parametrize(("text", "value"), [
    ("2.5E+3", sympy.Integer(2500)), ("1_000.5", sympy.Rational(2001, 2)), (".5", sympy.Rational(1, 2)),
    ("1.", sympy.Integer(1)), ("1e-300", sympy.Rational(1, 10**300)), ("0e-99999", sympy.Integer(0)),
    ("999999999999.9", sympy.Rational(9999999999999, 10)), ("1e12", sympy.Integer(10**12)),
    ("0." + "3" * 100, sympy.Rational(int("3" * 100), 10**100)),
])
def test_decimal_literals_are_the_exact_rationals_they_spell(text, value):
    assert parse(f"{text}*x").output.args[0].value == value


@pytest.mark.parametrize(("text", "message"), [
    ("x + 1e-99999999", "the number 1e-99999999 has an exponent far out of range (column 5)"),
    ("x + 1e-5000", "the number 1e-5000 is too small (limit 1e-300); write 0, or rescale (column 5)"),
    ("x + 1.0000001e12", "the number 1.0000001e12 is too large (limit 1e+12) (column 5)"),
    ("x + 0." + "1" * 101, "has 101 significant digits; the limit is 100 (column 5)"),
])
def test_decimal_literals_out_of_range_are_a_parse_error_at_their_column(text, message):
    start = time.perf_counter()
    with pytest.raises(ParseError) as info:
        parse(text)
    assert time.perf_counter() - start < 0.1
    assert str(info.value).endswith(message)


def test_powers_stay_below_the_number_size_limit_or_are_refused():
    x = sympy.Symbol("x", real=True)
    assert derive("(3*x)**1000", "x").result == 3000 * 3**999 * x**999  # about 480 digits: fine
    with pytest.raises(ParseError, match=r"numbers of about 12\d\d\d digits \(limit 2000\)"):
        parse("(x/10**12)**1000")


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
