"""Random scalar expressions: `derive` agrees with `sympy.diff` (property test)."""

import re

import numpy as np
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc_sym import DeriveError, ParseError, derive
from tests.helpers import agree, numeric

LEAVES = st.sampled_from(["x", "y", "2", "3", "x", "0.5"])
FUNCTIONS = ["sin", "cos", "exp", "log", "sqrt", "tanh"]


def expressions():
    return st.recursive(
        LEAVES,
        lambda inner: st.one_of(
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(FUNCTIONS), inner),
            st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(["+", "-", "*", "/"]), inner),
            st.builds(lambda a, n: f"({a})**{n}", inner, st.sampled_from(["2", "3", "-1"])),
        ),
        max_leaves=8,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.integers(0, 2**16))
def test_derive_agrees_with_sympy_diff(text, seed):
    text = text if re.search(r"\bx\b", text) else f"x + {text}"
    try:
        d = derive(text, wrt="x")
    except ParseError as exc:  # constant parts like exp(exp(exp(2))) are refused by design
        assert "constant part" in str(exc), (text, exc)
        return
    except DeriveError as exc:  # and so are expressions undefined everywhere, like 1/(y - y)
        assert "undefined" in str(exc), (text, exc)
        return
    expected = sympy.diff(d.expression, d.symbols["x"])
    symbols = sorted(d.symbols.values(), key=str)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        point = {str(s): float(rng.uniform(-2, 2)) for s in symbols}
        want, have = numeric(expected, symbols, point), numeric(d.result, symbols, point)
        if want is None or have is None:
            continue
        assert agree(want, have, 1e-6), (text, point, want, have)
        slope = text_slope(text, point)
        if slope is not None and abs(have.imag) < 1e-12:
            assert agree(slope, have.real, 1e-6), (text, point, slope, have)


def text_slope(text, point, h=1e-8):
    """d/dx of the text as NumPy reads it (30 digits), where differences with h and 100h agree."""
    from matcalc_sym.reference import Reference, Undefined

    reference = Reference(text)

    def difference(step):
        up, down = dict(point, x=point["x"] + step), dict(point, x=point["x"] - step)
        high, low = reference(up, precise=True), reference(down, precise=True)
        if abs(high) * 1e-28 / step > 1e-8:  # 30 digits cannot resolve a change of x next to a huge value
            raise Undefined
        return float((high - low) / (2 * step))

    try:
        narrow, wide = difference(h), difference(100 * h)
    except Undefined:
        return None
    return narrow if abs(narrow - wide) <= 1e-5 * max(1.0, abs(narrow)) else None
