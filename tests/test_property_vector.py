"""Random vector expressions: every Jacobian agrees with finite differences."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc_sym import ParseError, derive
from tests.helpers import numeric_jacobian

UNARY = ["sin", "cos", "tanh", "sigmoid", "exp"]


def vector_exprs():
    """(text, is_vector) pairs over vectors w, x (length n) and the scalar z."""
    leaves = st.sampled_from([("w", True), ("x", True), ("z", False), ("2", False), ("w", True)])

    def extend(inner):
        unary = st.builds(lambda f, e: (f"{f}({e[0]})", e[1]), st.sampled_from(UNARY), inner)
        binary = st.builds(lambda a, op, b: (f"({a[0]} {op} {b[0]})", a[1] or b[1]),
                           inner, st.sampled_from(["+", "-", "*"]), inner)
        square = st.builds(lambda e: (f"({e[0]})**2", e[1]), inner)
        reduce_ = st.builds(lambda r, e: (f"{r}({e[0]})", False), st.sampled_from(["sum", "mean"]),
                            inner.filter(lambda e: e[1]))
        dot = st.builds(lambda a, b: (f"dot({a[0]}, {b[0]})", False),
                        inner.filter(lambda e: e[1]), inner.filter(lambda e: e[1]))
        return st.one_of(unary, binary, square, reduce_, dot)

    return st.recursive(leaves, extend, max_leaves=7)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(vector_exprs(), st.sampled_from(["w", "z"]), st.integers(0, 2**16))
def test_vector_jacobians_match_finite_differences(expr, wrt, seed):
    text, _ = expr
    text = f"{text} + 0*w + 0*z" if wrt not in text else text
    try:
        d = derive(text, wrt, shapes={"w": "n", "x": "n"})
    except ParseError as exc:  # constant parts like exp(exp(2**2)) are refused by design
        assert "constant part" in str(exc), (text, exc)
        return
    rng = np.random.default_rng(seed)
    values = {"w": rng.uniform(-1, 1, 3), "x": rng.uniform(-1, 1, 3), "z": float(rng.uniform(-1, 1))}
    expected = numeric_jacobian(d, values, wrt)
    got = np.atleast_2d(np.asarray(d.evaluate(values), dtype=float))
    if got.shape != expected.shape and got.size == expected.size:
        got = got.reshape(expected.shape)
    assert got.shape == expected.shape, (text, got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=1e-4, atol=1e-5), (text, d.result, got, expected)
