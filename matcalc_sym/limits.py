"""Bounds on everything a user can make big.

SymPy can hang while merely *building* an expression (`2**10**10**10`,
`gamma(10**6)`, `cos(cos(2 - exp(10**6)))`), and recursive walkers fail on
deep input, so the parser refuses input beyond these bounds before SymPy sees
it. The numbers are generous for hand-written mathematics and for the
benchmarks' 3200-node expressions.
"""

import sympy

MAX_INPUT_CHARS = 50_000
MAX_NODES = 20_000
#: nesting of functions and non-associative operators; chains of + or * do not count
MAX_DEPTH = 100
#: how deep a derivative may nest (expr.derivative_height): a product of up to 1000 factors; the bounded
#: worker's stack holds that, while in-process work stops earlier with a clear error (see api.derive)
MAX_DERIVATIVE_HEIGHT = 2000
MAX_LITERAL = 10**12
MAX_CONSTANT = 10**15
MAX_EXPONENT = 1000
MAX_STATEMENTS = 200
#: significant digits of a decimal literal, and the smallest nonzero one: 1e-300 (decimals are exact rationals)
MAX_DECIMAL_DIGITS = 100
MIN_DECIMAL_EXPONENT = -300
#: estimated decimal digits of the numbers SymPy may build, e.g. (x/10**12)**1000 has 10**-12000 in it;
#: Python will not even print an integer of more than 4300 digits
MAX_NUMBER_DIGITS = 2000
#: dimension sizes when symbolic dimensions are instantiated (expand / checks)
MAX_DIMENSION = 4096
#: entries of the largest array check=, expand= or evaluate() may build (4 million float64: 32 MB, a
#: 2000×2000 Jacobian); a declared 999999 would otherwise ask for a 999999×999999 one (8 TB)
MAX_DENSE_ENTRIES = 4_000_000


def approximate(expr: sympy.Expr) -> complex | None:
    """A complex approximation; inf when too large for a float, None when undefined."""
    try:
        value = complex(expr.evalf(15))
    except OverflowError:
        return complex(float("inf"))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if value != value:
        return None
    return value


def abbreviate(value) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:10]}…({len(text)} digits)"
