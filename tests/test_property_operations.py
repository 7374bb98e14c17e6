"""Random programs over the registered array operations, checked against NumPy reading the same text.

The worked examples test each operation in the forms its author thought of;
this generator composes them where nobody looked: axis reductions (sum,
mean, max, min, var, std, prod, logsumexp) along either axis, negative axes
and keepdims, softmax and log-softmax along an axis or over everything,
abs/clip/GELU/SiLU, all inside the broadcasting and matrix products of
`test_property_numpy` (square matrices, 1-D and (n, 1) operands). The
expected derivative is central finite differences of
`matcalc_sym.reference` (NumPy on the text), never the package's own
translation.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc_sym import DeriveError, derive
from matcalc_sym.reference import Undefined
from tests.helpers import assert_gradient_matches, assert_jacobian_matches, reference_output, upstream_names
from tests.test_property_numpy import BROADCASTS, PRODUCTS, SHAPES, VARIABLES, _near_a_kink, _values, leaves

REDUCTIONS = ["sum", "mean", "max", "min", "var", "std", "prod", "logsumexp"]
#: (source kind, keyword arguments) of a reduction giving the target kind (Q n×n, M m×n, V (n,), U (m,), …)
REDUCED = {
    "S": [("V", ""), ("Q", ""), ("M", ""), ("C", ""), ("R", ""), ("U", "")],
    "V": [("Q", "axis=0"), ("Q", "axis=1"), ("Q", "axis=-1"), ("M", "axis=0"), ("M", "axis=-2")],
    "U": [("M", "axis=1"), ("M", "axis=-1")],
    "C": [("Q", "axis=1, keepdims=True"), ("C", "axis=1, keepdims=True")],
    "R": [("Q", "axis=0, keepdims=True"), ("M", "axis=0, keepdims=True"), ("R", "axis=0, keepdims=True")],
}
#: keyword arguments of softmax / log_softmax on an operand of each kind (same kind out)
NORMALIZED = {"Q": ["", "axis=0", "axis=1"], "M": ["", "axis=0", "axis=-1"], "V": ["", "axis=0"], "U": [""],
              "C": ["axis=0"], "R": ["axis=1"]}
ELEMENTWISE = ["tanh", "abs", "gelu", "silu", "sigmoid"]


def _call(name: str, operand: str, keywords: str) -> str:
    return f"{name}({operand}, {keywords})" if keywords else f"{name}({operand})"


def expressions(kind: str, depth: int):
    """Text of a random expression of the given kind, built from the registered operations."""
    if depth == 0:
        return leaves(kind)
    inner = lambda k: expressions(k, depth - 1)  # noqa: E731 - a one-line recursion helper
    options = [leaves(kind), st.builds(lambda f, e: f"{f}({e})", st.sampled_from(ELEMENTWISE), inner(kind)),
               st.builds(lambda e: f"clip({e}, -0.5, 0.5)", inner(kind))]
    options.append(st.sampled_from(BROADCASTS[kind]).flatmap(
        lambda pair: st.builds(lambda a, op, b: f"({a} {op} {b})", inner(pair[0]), st.sampled_from("+-*"),
                               inner(pair[1]))))
    if kind in PRODUCTS:
        options.append(st.sampled_from(PRODUCTS[kind]).flatmap(lambda pair: st.builds(
            lambda a, b: f"(({a}) @ ({b}))", _operand(pair[0], depth), _operand(pair[1], depth))))
    if kind in REDUCED:
        options.append(st.sampled_from(REDUCED[kind]).flatmap(lambda source: st.builds(
            lambda f, e: _call(f, e, source[1]), st.sampled_from(REDUCTIONS), inner(source[0]))))
    if kind in NORMALIZED:
        options.append(st.builds(_call, st.sampled_from(["softmax", "log_softmax"]), inner(kind),
                                 st.sampled_from(NORMALIZED[kind])))
    return st.one_of(options)


def _operand(spec: str, depth: int):
    kind, transposed = spec.rstrip(".T"), spec.endswith(".T")
    inner = expressions(kind, depth - 1)
    return inner.map(lambda e: f"({e}).T") if transposed else inner


@st.composite
def programs(draw):
    """(text, wrt): mostly scalar losses, sometimes an array output (a vector-Jacobian product)."""
    import re

    output = draw(st.sampled_from(["S"] * 6 + ["Q", "V", "M"]))
    text = draw(expressions(output, draw(st.integers(1, 3))))
    used = [name for name in VARIABLES if re.search(rf"\b{name}\b", text)]
    return text, draw(st.sampled_from(used))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs(), st.sampled_from(["auto", "reverse"]), st.integers(0, 2**16))
def test_operations_agree_with_numpy_reading_the_text(program, mode, seed):
    text, wrt = program
    try:
        d = derive(text, wrt, shapes=SHAPES, mode=mode)
    except DeriveError as exc:  # (t - t)**-1 and the like: refused by design, with this message
        assert "undefined everywhere" in str(exc), (text, exc)
        return
    rng = np.random.default_rng(seed)
    values = _values(rng, {"n": int(rng.integers(2, 4)), "m": int(rng.integers(2, 4))})
    upstream = upstream_names(d)
    try:
        if upstream:
            shape = np.shape(reference_output(d, values))
            values[upstream[0]] = rng.uniform(-1, 1, size=shape) if shape else float(rng.uniform(-1, 1))
        if d.rule == "backprop":
            assert_gradient_matches(d, values, wrt, tolerance=1e-4)
        else:
            assert_jacobian_matches(d, values, tolerance=1e-4)
    except Undefined:
        return  # a point where the text itself is not finite
    except AssertionError as exc:
        if _near_a_kink(d, values, wrt):
            return  # abs, clip, max and relu have kinks; a difference quotient across one means nothing
        if _no_spread(d, values, text):
            return
        raise AssertionError(f"{text!r} by {wrt} ({mode}): {exc}") from None


def _no_spread(d, values, text) -> bool:
    """std (and var inside a sqrt) is not differentiable where a group has no spread: all its entries equal,
    as when clip holds every entry at one bound. The derivative is then 0/0 and says so (nan), while a
    difference quotient sees a locally constant function; nothing is wrong there."""
    if "std(" not in text:
        return False
    got = np.asarray(d.evaluate(values), dtype=float)
    return bool(np.any(np.isnan(got)))
