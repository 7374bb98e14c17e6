"""Shared checks: derivatives against sympy.diff and central finite differences."""

from __future__ import annotations

import numpy as np
import sympy


def numeric(expr, symbols, point) -> complex | None:
    """`expr` at `point` (a dict name → float) with complex arithmetic; None if undefined."""
    function = sympy.lambdify(symbols, expr, modules="mpmath")
    try:
        value = complex(function(*[complex(point[str(s)]) for s in symbols]))
    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
        return None
    if not np.isfinite(value):
        return None
    return value


def agree(a, b, tolerance=1e-6) -> bool:
    return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))


def assert_equals_sympy_diff(derivation, name: str, result=None, points=6, seed=0):
    """The derivation's result by `name` equals sympy.diff of its expression.

    Compared at random points (complex arithmetic, so log and sqrt of negative
    numbers take the same branch on both sides); raises if no point is defined.
    """
    rng = np.random.default_rng(seed)
    expression = derivation.expression
    symbol = derivation.symbols[name]
    expected = sympy.diff(expression, symbol)
    got = derivation.result if result is None else result
    symbols = sorted(derivation.symbols.values(), key=str)
    compared = 0
    for _ in range(points * 4):
        point = {str(s): float(rng.uniform(-2.5, 2.5)) for s in symbols}
        want, have = numeric(expected, symbols, point), numeric(got, symbols, point)
        if want is None or have is None:
            continue
        assert agree(want, have), f"at {point}: sympy.diff gives {want}, derive gives {have}"
        compared += 1
        if compared == points:
            break
    assert compared > 0, "no point where both sides are defined"
    return compared


def reference_output(derivation, values):
    """The output at `values` as NumPy computes the user's text (never the package's translation)."""
    from matcalc_sym.reference import reference_of

    inputs = {k: v for k, v in values.items() if not k.startswith("dJ/d")}
    return reference_of(derivation)(inputs)


def _moved(values, name, flat, shape, i, delta):
    moved = flat.copy()
    moved[i] += delta
    return dict(values, **{name: moved.reshape(shape) if shape else float(moved[0])})


def central_difference(derivation, point, name, h=1e-6) -> np.ndarray:
    """Central finite differences of the output (flattened) by the scalar `name`, from the text."""
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    return (np.ravel(reference_output(derivation, up)) - np.ravel(reference_output(derivation, down))) / (2 * h)


def assert_matches_finite_differences(derivation, point, tolerance=1e-5):
    """Each entry of the result agrees with a central difference of the text at `point`."""
    value = derivation.evaluate(point)
    expected = np.stack([central_difference(derivation, point, name) for name in derivation.wrt], axis=1)
    if derivation.layout == "denominator":
        expected = expected.T
    got = np.atleast_2d(np.asarray(value, dtype=float))
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=tolerance, atol=tolerance), (got, expected)


def numeric_jacobian(derivation, values, name, h=1e-6):
    """Central-difference Jacobian of the text's output by `name` in numerator layout (2-D).

    Rows are the output's entries and columns the variable's, both in NumPy's
    (row-major) order.
    """
    base = np.asarray(values[name], dtype=float)
    flat = np.atleast_1d(base).ravel()
    columns = []
    for i in range(flat.size):
        up = reference_output(derivation, _moved(values, name, flat, base.shape, i, h))
        down = reference_output(derivation, _moved(values, name, flat, base.shape, i, -h))
        columns.append((np.atleast_1d(np.ravel(up)) - np.atleast_1d(np.ravel(down))) / (2 * h))
    return np.stack(columns, axis=1)


def assert_jacobian_matches(derivation, values, tolerance=1e-5):
    """The derivation's result equals the finite-difference Jacobian (layout-aware)."""
    (name,) = derivation.wrt
    expected = numeric_jacobian(derivation, values, name)
    got = np.atleast_2d(np.asarray(derivation.evaluate(values), dtype=float))
    if derivation.layout == "denominator":
        expected = expected.T
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=tolerance, atol=tolerance), (got, expected)


def numeric_gradient(derivation, values, name, h=1e-6):
    """Central-difference gradient of the scalar loss by `name`, shaped like the variable (NumPy shape).

    For a non-scalar output (reverse mode's vector-Jacobian product) the loss
    is J = sum(upstream ⊙ output), whose gradient is exactly that product.
    """
    upstream = next((k for k in values if k.startswith("dJ/d")), None)

    def loss(vals):
        out = np.asarray(reference_output(derivation, vals), dtype=float)
        if upstream is None:
            return float(np.sum(out))
        return float(np.sum(np.asarray(vals[upstream], dtype=float).reshape(out.shape) * out))

    base = np.asarray(values[name], dtype=float)
    flat = np.atleast_1d(base).ravel()
    out = np.array([(loss(_moved(values, name, flat, base.shape, i, h))
                     - loss(_moved(values, name, flat, base.shape, i, -h))) / (2 * h) for i in range(flat.size)])
    return out.reshape(base.shape) if base.ndim else float(out[0])


def assert_gradient_matches(derivation, values, name, got=None, tolerance=1e-5):
    """A reverse-mode gradient equals finite differences of the text: shaped like its variable in
    denominator layout (a 1-D vector as a column), transposed in numerator layout."""
    expected = np.asarray(numeric_gradient(derivation, values, name), dtype=float)
    if got is None:
        got = derivation.evaluate(values)
        got = got[name] if isinstance(got, dict) else got
    got = np.atleast_2d(np.asarray(got, dtype=float))
    if expected.ndim == 0:
        expected = expected.reshape(1, 1)
    elif expected.ndim == 1:
        expected = expected.reshape(-1, 1)
    if derivation.layout == "numerator":
        expected = expected.T
    assert got.shape == expected.shape, (name, got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=tolerance, atol=tolerance), (name, got, expected)


def upstream_names(derivation) -> list[str]:
    """The upstream-gradient inputs (dJ/dy of an array output): a named adjoint of backprop (dJ/du1 kept as
    a name where the chain forks) also starts with dJ/d, but it is defined, not given."""
    return [name for name in derivation.symbols if name.startswith("dJ/d") and name not in derivation.definitions]


def with_upstream(derivation, values, seed=5):
    """The inputs plus a random upstream gradient ∂J/∂y when the output is not a scalar (reverse mode's VJP)."""
    upstream = upstream_names(derivation)
    if not upstream:
        return dict(values)
    shape = np.shape(reference_output(derivation, values))
    return {**values, upstream[0]: np.random.default_rng(seed).normal(size=shape)}


def assert_matches_numpy(derivation, values, wrt):
    """The result against central differences of NumPy reading the text, in whichever mode it was derived."""
    values = with_upstream(derivation, values)
    if derivation.rule == "backprop":
        assert_gradient_matches(derivation, values, wrt)
    else:
        assert_jacobian_matches(derivation, values)


def load_exported(code: str) -> dict:
    """The namespace of an exported NumPy module (the tests run the code the tool generated)."""
    namespace: dict = {}
    exec(compile(code, "exported.py", "exec"), namespace)
    return namespace


def randexpr():
    """benchmarks/randexpr.py, the benchmarks' seeded random expressions, loaded from its file
    (`benchmarks` is no installed package)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "randexpr.py"
    spec = importlib.util.spec_from_file_location("randexpr", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["randexpr"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module

