"""Every rule in rules/*.toml, checked against sympy.diff at random points."""

import math

import numpy as np
import pytest
import sympy

from matcalc_sym.parse import parse_template
from matcalc_sym.ruletable import SLOTS, default_table
from matcalc_sym.symbolic import build

TABLE = default_table()
PLACEHOLDERS = [sympy.Symbol(s, real=True) for s in SLOTS]
ARITY = {"add": 2, "sub": 2, "mul": 2, "div": 2, "pow": 2, "neg": 1}


def arity_of(rule):
    if rule.arity is not None:
        return rule.arity
    if rule.op in ARITY:
        return ARITY[rule.op]
    return TABLE.function(rule.op).arity[0]


def real_value(expr, point):
    try:
        value = complex(expr.xreplace(point).evalf(30))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(value.real) or abs(value.imag) > 1e-12:
        return None
    return value.real


SCALAR_RULES = [r for r in TABLE.rules if not r.generic]


@pytest.mark.parametrize("rule", SCALAR_RULES, ids=[f"{r.id}:{r.op}:{sorted(r.depends or [])}" for r in SCALAR_RULES])
def test_rule_matches_sympy_diff(rule):
    n = arity_of(rule)
    args = PLACEHOLDERS[:n]
    bound = {PLACEHOLDERS[SLOTS.index(slot)]: parse_template(value) for slot, value in rule.constant.items()}
    applied = build(rule.op, [bound.get(a, a) for a in args], TABLE)
    rng = np.random.default_rng(7)
    for slot, template in rule.partials.items():
        variable = PLACEHOLDERS[SLOTS.index(slot)]
        if variable in bound:
            continue
        expected = sympy.diff(applied, variable)
        got = parse_template(template).xreplace(bound)
        checked = 0
        for _ in range(200):
            scale = rng.choice([0.9, 3.0])
            point = {a: sympy.Float(rng.uniform(-scale, scale)) for a in args if a not in bound}
            if rule.op == "where":
                point[PLACEHOLDERS[0]] = sympy.true if rng.random() < 0.5 else sympy.false
            want, have = real_value(expected, point), real_value(got, point)
            if want is None or have is None:
                continue
            if any(abs(float(v)) < 1e-3 for k, v in point.items() if isinstance(v, sympy.Float)):
                continue
            assert abs(want - have) <= 1e-9 * max(1, abs(want)), (rule.id, slot, point, want, have)
            checked += 1
            if checked >= 12:
                break
        assert checked >= 5, f"rule {rule.id} slot {slot}: too few points where it is defined"


def test_every_function_has_a_rule_or_a_sympy_derivative():
    u = PLACEHOLDERS[0]
    for name, spec in TABLE.functions.items():
        if spec.definition is not None or spec.kind != "elementwise":
            continue  # matrix functions and reductions: tests/test_matrix_rules.py, test_vector_rules.py
        n = spec.arity[0]
        has_rule = any(r.op == name and not r.generic for r in TABLE.rules)
        if not has_rule:
            derivative = sympy.diff(build(name, PLACEHOLDERS[:n], TABLE), u)
            assert not derivative.has(sympy.Derivative), name


def test_a_wrong_rule_would_be_caught():
    wrong = parse_template("sin(u)")  # the derivative of sin is not sin
    u = PLACEHOLDERS[0]
    assert real_value(wrong, {u: sympy.Float(0.3)}) != real_value(sympy.diff(sympy.sin(u), u), {u: sympy.Float(0.3)})
