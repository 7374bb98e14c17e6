"""Property tests: whatever the text, the package raises only its own documented errors.

Two generators: arbitrary text (printable, control and non-ASCII characters
alike), and sequences of the grammar's own tokens, which reach much deeper
into the parser and the derivation than random characters do. The atheris
fuzzer in tests/fuzz/ does the same over hundreds of thousands of inputs.
"""

from __future__ import annotations

import string
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc_sym import derive
from matcalc_sym.errors import MatcalcError, ParseError, ShapeError
from matcalc_sym.parse import Program, parse

SHAPES = {"w": "n", "v": "n", "A": "m,n", "B": "n,n"}
TOKENS = [
    "x", "y", "z", "w", "v", "A", "B", "n", "u1", "pi", "E", "_x", "__class__",
    "0", "1", "2", "3", "0.5", "1e3", "10", "-",
    "+", "-", "*", "/", "**", "^", "@", ".T", ".", "T", "(", ")", "[", "]", ",", ";", "\n", "\r", " ", "=",
    "<", ">", "<=", "==", "%", "'", '"', "#", ":", "lambda", "import", "for", "in", "if", "else",
    "sin", "cos", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "max", "min", "sum", "mean", "dot",
    "where", "abs", "trace", "det", "inv", "norm", "diag", "outer", "eye", "ones", "gamma", "erf",
    "sin(", "max(0, ", "sum(", "dot(w, ", "where(x > 0, ", "A@", "w*", "(x+y)**",
]
token_text = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=16).map("".join)
any_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=string.printable, max_size=80),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=40),
)
fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_only_raises_parse_errors(text: str, shapes: dict | None) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            program = parse(text, shapes)
        except (ParseError, ShapeError) as exc:
            assert str(exc).strip(), "an error with no message"
            program = None
    assert [str(w.message) for w in caught] == []  # CPython's SyntaxWarnings would reach stderr
    assert program is None or isinstance(program, Program)


@fuzz
@given(any_text)
def test_parse_of_random_text_raises_only_parse_errors(text):
    _parse_only_raises_parse_errors(text, None)


@fuzz
@given(token_text, st.booleans())
def test_parse_of_token_sequences_raises_only_parse_errors(text, with_shapes):
    _parse_only_raises_parse_errors(text, SHAPES if with_shapes else None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(token_text, st.booleans(), st.sampled_from([None, "x", "x,y", "w", "A", "q"]))
def test_derive_raises_only_documented_errors(text, with_shapes, wrt):
    try:
        derivation = derive(text, wrt, shapes=SHAPES if with_shapes else None)
    except MatcalcError as exc:
        assert not str(exc).startswith("internal error"), str(exc)
        assert exc.exit_code in (2, 3, 4)
        return
    assert derivation.steps or derivation.result == 0
    derivation.to_dict()  # the results must also be presentable


# -- inputs the fuzzers found, kept as regressions ---------------------------


def test_a_one_by_one_array_broadcasts_both_ways():
    """atheris: `eye(n)/-eye(1)` raised DeriveError from inside parse (NumPy broadcasts (1, 1) anywhere)."""
    import numpy as np

    program = parse("x + eye(n)/-eye(1)", {"w": "n"})
    assert program.output.shape == program.output.args[1].shape
    derivation = derive("sum(A*x/eye(1))", "x", shapes={"A": "n,n"})
    matrix = np.arange(9.0).reshape(3, 3)
    assert derivation.evaluate({"A": matrix, "x": 0.7}) == matrix.sum()


def test_python_warnings_never_reach_stderr():
    """hypothesis: `0for` made CPython print a SyntaxWarning before our error line."""
    for text in ["0for", "1if x else 2", "1(x)", "x is 1"]:
        _parse_only_raises_parse_errors(text, None)


def test_comparisons_of_constants_are_not_folded_into_booleans():
    """atheris: `max(0, 58 > 5*-n)` folded to a SymPy boolean and then crashed the size check."""
    x = __import__("sympy").Symbol("x", real=True)
    for text in ["max(0, 58 > 5)", "x + (2 > 1)", "max(0, -0**0*58 > 5*-n)"]:
        try:
            parse(text, {"w": "n"})
        except ParseError as exc:
            assert exc.message == "a comparison is only allowed as the condition of where(...)"
        else:
            raise AssertionError(f"{text!r} was accepted")
    assert derive("where(5 > 3, x**2, 0)").result == 2 * x
    assert derive("where(5 < 3, x**2, 0)").result == 0


def test_constant_arrays_and_dimensions_as_exponents_are_refused_clearly():
    """atheris: `50**-eye(1)` sent the exponent size check into infinite recursion."""
    cases = {"50**-eye(1)": "a constant array such as eye(n) or ones(n) cannot be an exponent",
             "x**ones(n)": "a constant array such as eye(n) or ones(n) cannot be an exponent",
             "x**n": "exponent n is a dimension, not a number; use a number up to 1000"}
    for text, message in cases.items():
        try:
            parse(text, {"w": "n"})
        except ParseError as exc:
            assert exc.message == message
        else:
            raise AssertionError(f"{text!r} was accepted")
