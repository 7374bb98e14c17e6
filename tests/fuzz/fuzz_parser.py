"""Coverage-guided fuzzing of the parser with atheris (libFuzzer for Python).

Not part of the default test run (pytest collects only test_*.py) and atheris
is not a dependency of the package. Run it from the repository root:

    pip install atheris
    python tests/fuzz/fuzz_parser.py -atheris_runs=100000 -dict=tests/fuzz/parser.dict tests/fuzz/corpus

Each input is either raw text or a sequence of grammar tokens chosen by the
fuzzer's bytes, parsed with and without declared shapes. Anything other than
`ParseError`/`ShapeError` (including a warning, which CPython would print to
stderr) or a parse slower than `SLOW_SECONDS` is a crash, and libFuzzer keeps
the input that caused it.
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings

import atheris
import sympy  # noqa: F401 - imported before instrumentation: only our own code is instrumented

with atheris.instrument_imports(include=["matcalc_sym"]):
    from matcalc_sym.errors import ParseError, ShapeError
    from matcalc_sym.parse import parse

SLOW_SECONDS = 1.0
SHAPES = {"w": "n", "v": "n", "A": "m,n", "B": "n,n"}
TOKENS = [
    "x", "y", "w", "v", "A", "B", "n", "pi", "E", "_x", "__class__", "0", "1", "2", "0.5", "1e3", "10",
    "+", "-", "*", "/", "**", "^", "@", ".T", ".", "(", ")", "[", "]", ",", ";", "\n", "\r", " ", "\t", "=",
    "<", ">", "==", "%", "'", "#", ":", "lambda", "import", "for", "if", "else", "sin", "cos", "exp",
    "log", "sqrt", "max", "sum", "mean", "dot", "where", "trace", "det", "inv", "norm", "diag", "outer",
    "eye", "ones", "gamma", "\x00", "\u00e9", "\uff45",
]


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    shapes = SHAPES if provider.ConsumeBool() else None
    if provider.ConsumeBool():
        text = provider.ConsumeUnicodeNoSurrogates(300)
    else:
        count = provider.ConsumeIntInRange(1, 40)
        text = "".join(TOKENS[provider.ConsumeIntInRange(0, len(TOKENS) - 1)] for _ in range(count))
    start = time.perf_counter()
    with contextlib.suppress(ParseError, ShapeError):
        parse(text, shapes)
    elapsed = time.perf_counter() - start
    if elapsed > SLOW_SECONDS:
        raise RuntimeError(f"parse took {elapsed:.2f} s on {text!r}")


def main() -> None:
    warnings.simplefilter("error")  # a warning would reach the user's terminal: treat it as a crash
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
