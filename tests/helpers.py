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


def central_difference(expression, symbols, point, name, h=1e-6) -> float:
    """Central finite difference of a real expression by `name`."""
    function = sympy.lambdify(symbols, expression, modules="numpy")
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    f_up = float(function(*[up[str(s)] for s in symbols]))
    f_down = float(function(*[down[str(s)] for s in symbols]))
    return (f_up - f_down) / (2 * h)


def assert_matches_finite_differences(derivation, point, tolerance=1e-5):
    """Each entry of the result agrees with a central difference at `point`."""
    symbols = sorted(derivation.symbols.values(), key=str)
    value = derivation.evaluate(point)
    expression = derivation.expression
    outputs = list(expression) if isinstance(expression, sympy.MatrixBase) else [expression]
    expected = np.array([[central_difference(f, symbols, point, name) for name in derivation.wrt]
                         for f in outputs])
    if derivation.layout == "denominator":
        expected = expected.T
    got = np.atleast_2d(np.asarray(value, dtype=float))
    if np.ndim(value) == 0:
        got = np.array([[value]])
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert np.allclose(got, expected, rtol=tolerance, atol=tolerance), (got, expected)


def numeric_jacobian(derivation, values, name, h=1e-6):
    """Central-difference Jacobian of the output by `name` in numerator layout (2-D)."""
    from matcalc_sym.numeric import evaluate_expression

    def output(vals):
        return np.atleast_1d(np.ravel(np.asarray(
            evaluate_expression(derivation.expression, vals, derivation.symbols), dtype=float)))

    base = np.asarray(values[name], dtype=float)
    flat = np.atleast_1d(base).ravel()
    columns = []
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += h
        down[i] -= h
        vals_up = dict(values, **{name: up.reshape(base.shape) if base.ndim else float(up[0])})
        vals_down = dict(values, **{name: down.reshape(base.shape) if base.ndim else float(down[0])})
        columns.append((output(vals_up) - output(vals_down)) / (2 * h))
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
    """Central-difference gradient of the scalar loss by `name`, shaped like the variable.

    For a non-scalar output (reverse mode's vector-Jacobian product) the loss
    is J = sum(upstream ⊙ output), whose gradient is exactly that product.
    """
    from matcalc_sym.numeric import evaluate_expression

    inputs = {k: v for k, v in derivation.symbols.items() if k not in derivation.definitions}
    upstream = next((k for k in values if k.startswith("dJ/d")), None)

    def loss(vals):
        out = np.asarray(evaluate_expression(derivation.expression, vals, inputs), dtype=float)
        if upstream is None:
            return float(np.sum(out))
        return float(np.sum(np.asarray(vals[upstream]).reshape(out.shape) * out))

    base = np.asarray(values[name], dtype=float)
    grad = np.zeros(base.shape if base.ndim else ())
    flat = np.atleast_1d(base).ravel()
    out = np.zeros(flat.size)
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += h
        down[i] -= h
        shape = base.shape
        out[i] = (loss(dict(values, **{name: up.reshape(shape) if base.ndim else float(up[0])}))
                  - loss(dict(values, **{name: down.reshape(shape) if base.ndim else float(down[0])}))) / (2 * h)
    grad = out.reshape(base.shape) if base.ndim else float(out[0])
    return grad


def assert_gradient_matches(derivation, values, name, got=None, tolerance=1e-5):
    """A reverse-mode gradient (shaped like its variable) equals finite differences."""
    expected = np.asarray(numeric_gradient(derivation, values, name), dtype=float)
    if got is None:
        got = derivation.evaluate(values)
        got = got[name] if isinstance(got, dict) else got
    got = np.asarray(got, dtype=float)
    if derivation.layout == "numerator" and expected.ndim == 1:
        expected = expected.reshape(1, -1)
    elif expected.ndim == 1:
        expected = expected.reshape(-1, 1)
    got = got.reshape(expected.shape) if got.size == expected.size and expected.ndim else got
    assert np.allclose(got, expected, rtol=tolerance, atol=tolerance), (name, got, expected)
