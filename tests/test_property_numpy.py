"""Random programs where translation bugs live, each checked against NumPy reading the same text.

The generator visits the risky cases on purpose: square matrices (where a
1-D vector and an n×1 column are easy to confuse), 1-D (n,), column (n, 1)
and row (1, n) operands broadcast both ways (also (n,1) against (1,n), which
makes an n×n matrix), 1-D @ 2-D products, transposes, `**-1`, and the bias
itself as the variable. The expected derivative is always central finite
differences of `matcalc_sym.reference` (NumPy on the user's text), never of
the package's own translation.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc_sym import DeriveError, derive
from matcalc_sym.reference import Undefined
from tests.helpers import assert_gradient_matches, assert_jacobian_matches, upstream_names

#: NumPy shapes by kind: S scalar, V (n,), C (n,1), R (1,n), Q (n,n), M (m,n), U (m,)
KINDS = {"S": (), "V": ("n",), "C": ("n", "1"), "R": ("1", "n"), "Q": ("n", "n"), "M": ("m", "n"), "U": ("m",)}
VARIABLES = {"W": "Q", "X": "Q", "A": "M", "x": "V", "b": "V", "c": "C", "r": "R", "s": "S", "t": "S", "y": "U"}
SHAPES = {name: ",".join(KINDS[kind]) for name, kind in VARIABLES.items() if KINDS[kind]}

#: operand kinds whose element-wise combination has the target kind (NumPy broadcasting)
BROADCASTS = {
    "Q": [("Q", "Q"), ("Q", "V"), ("V", "Q"), ("Q", "C"), ("C", "Q"), ("Q", "S"), ("S", "Q"), ("C", "R"),
          ("R", "C"), ("V", "C"), ("C", "V"), ("Q", "R"), ("R", "Q")],
    "M": [("M", "M"), ("M", "V"), ("V", "M"), ("M", "S"), ("R", "M")],
    "V": [("V", "V"), ("V", "S"), ("S", "V")],
    "U": [("U", "U"), ("U", "S")],
    "C": [("C", "C"), ("C", "S"), ("S", "C")],
    "R": [("R", "R"), ("R", "S"), ("R", "V"), ("V", "R")],
    "S": [("S", "S")],
}
#: matrix products giving the target kind
PRODUCTS = {
    "Q": [("Q", "Q"), ("C", "R"), ("M.T", "M")],
    "V": [("Q", "V"), ("V", "Q"), ("M.T", "U"), ("U", "M")],
    "U": [("M", "V")],
    "C": [("Q", "C")],
    "R": [("R", "Q"), ("R", "Q.T")],
    "M": [("M", "Q")],
}
TRANSPOSES = {"Q": "Q", "C": "R", "R": "C", "V": "V"}
FUNCTIONS = ["tanh", "sin", "sigmoid", "cos", "relu"]


def leaves(kind: str):
    return st.sampled_from([name for name, k in VARIABLES.items() if k == kind])


def expressions(kind: str, depth: int):
    """Text of a random expression of the given kind."""
    if depth == 0:
        return leaves(kind)
    inner = lambda k: expressions(k, depth - 1)  # noqa: E731 - a one-line recursion helper
    options = [leaves(kind)]
    options.append(st.builds(lambda f, e: f"{f}({e})", st.sampled_from(FUNCTIONS), inner(kind)))
    options.append(st.sampled_from(BROADCASTS[kind]).flatmap(
        lambda pair: st.builds(lambda a, op, b: f"({a} {op} {b})", inner(pair[0]), st.sampled_from("+-*"),
                               inner(pair[1]))))
    options.append(st.builds(lambda e, p: f"({e})**{p}", inner(kind), st.sampled_from(["2", "-1", "3"])))
    if kind in PRODUCTS:
        options.append(st.sampled_from(PRODUCTS[kind]).flatmap(lambda pair: st.builds(
            lambda a, b: f"(({a}) @ ({b}))", _operand(pair[0], depth), _operand(pair[1], depth))))
    if kind in TRANSPOSES:
        options.append(st.builds(lambda e: f"({e}).T", inner(TRANSPOSES[kind])))
    if kind == "S":
        reducible = st.sampled_from(sorted(KINDS)).flatmap(lambda k: expressions(k, depth - 1))
        options.append(st.builds(lambda r, e: f"{r}({e})", st.sampled_from(["sum", "mean"]), reducible))
    return st.one_of(options)


def _operand(spec: str, depth: int):
    kind, transposed = spec.rstrip(".T"), spec.endswith(".T")
    inner = expressions(kind, depth - 1)
    return inner.map(lambda e: f"({e}).T") if transposed else inner


@st.composite
def programs(draw):
    """(text, wrt, output kind): mostly scalar losses, sometimes an array output (a vector-Jacobian product)."""
    output = draw(st.sampled_from(["S"] * 6 + ["Q", "V", "C", "M"]))
    text = draw(expressions(output, draw(st.integers(1, 3))))
    if output == "S" and draw(st.booleans()):
        text = f"sum({text})" if not text.startswith(("sum(", "mean(")) else text
    used = [name for name in VARIABLES if _mentions(text, name)]
    wrt = draw(st.sampled_from(used))
    return text, wrt


def _mentions(text: str, name: str) -> bool:
    import re

    return re.search(rf"\b{name}\b", text) is not None


def _values(rng, sizes):
    values = {}
    for name, kind in VARIABLES.items():
        shape = tuple(sizes.get(d, 1) if not d.isdigit() else int(d) for d in KINDS[kind])
        magnitude = rng.uniform(0.4, 1.6, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        values[name] = magnitude if shape else float(magnitude)
    return values


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(), st.sampled_from(["auto", "reverse"]), st.sampled_from(["auto", "numerator", "denominator"]),
       st.integers(0, 2**16))
def test_derivatives_agree_with_numpy_reading_the_text(program, mode, layout, seed):
    text, wrt = program
    try:
        d = derive(text, wrt, shapes=SHAPES, mode=mode, layout=layout)
    except DeriveError as exc:  # (t - t)**-1 and the like: refused by design, with this message
        assert "undefined everywhere" in str(exc), (text, exc)
        return
    rng = np.random.default_rng(seed)
    values = _values(rng, {"n": int(rng.integers(2, 4)), "m": int(rng.integers(2, 4))})
    if d.rule == "backprop" and d.gradients and upstream_names(d):
        (upstream,) = upstream_names(d)
        try:
            from tests.helpers import reference_output

            shape = np.shape(reference_output(d, values))
        except Undefined:
            return
        values[upstream] = rng.uniform(-1, 1, size=shape) if shape else float(rng.uniform(-1, 1))
    try:
        if d.rule == "backprop":
            assert_gradient_matches(d, values, wrt, tolerance=1e-4)
        else:
            assert_jacobian_matches(d, values, tolerance=1e-4)
    except Undefined:
        return  # a point where the text itself is not finite (1/x at a tiny x, …)
    except AssertionError as exc:
        if _near_a_kink(d, values, wrt):
            return
        raise AssertionError(f"{text!r} by {wrt} ({mode}, {layout}): {exc}") from None


def _near_a_kink(d, values, wrt) -> bool:
    """relu's kink, or a huge slope of x**-1 near 0, makes a difference quotient meaningless there."""
    from tests.helpers import numeric_gradient

    try:
        narrow = np.asarray(numeric_gradient(d, values, wrt, h=1e-6), dtype=float)
        wide = np.asarray(numeric_gradient(d, values, wrt, h=1e-4), dtype=float)
    except Undefined:
        return True
    return not np.allclose(narrow, wide, rtol=1e-3, atol=1e-4)
