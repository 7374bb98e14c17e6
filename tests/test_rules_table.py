"""Every rule in rules/*.toml, checked against sympy.diff at random points."""

import math

import pytest
import sympy

from matcalc_sym.rulecheck import checkable, verify_rule
from matcalc_sym.ruletable import SLOTS, Rule, default_table
from matcalc_sym.symbolic import build

TABLE = default_table()
PLACEHOLDERS = [sympy.Symbol(s, real=True) for s in SLOTS]

SCALAR_RULES = [r for r in TABLE.rules if checkable(r)]


@pytest.mark.parametrize("rule", SCALAR_RULES, ids=[f"{r.id}:{r.op}:{sorted(r.depends or [])}" for r in SCALAR_RULES])
def test_rule_matches_sympy_diff(rule):
    verdict = verify_rule(rule, TABLE)
    assert verdict.ok, verdict.counter_example() or f"rule {rule.id}: too few points where it is defined"
    assert all(count >= 5 for count in verdict.checked.values()), verdict.checked


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
    wrong = Rule(id="sin", op="sin", partials={"u": "sin(u)"})  # the derivative of sin is not sin
    verdict = verify_rule(wrong, TABLE)
    assert not verdict.ok
    assert verdict.slot == "u"
    u = verdict.point["u"]
    assert verdict.expected == pytest.approx(math.cos(u)) and verdict.got == pytest.approx(math.sin(u))
    assert verdict.counter_example().startswith("partials.u = 'sin(u)' is wrong at u = ")


def test_a_rule_right_only_where_its_argument_is_positive_is_caught():
    wrong = Rule(id="abs", op="abs", partials={"u": "1"})  # d|u|/du is sign(u), not 1
    verdict = verify_rule(wrong, TABLE)
    assert not verdict.ok and verdict.point["u"] < 0
