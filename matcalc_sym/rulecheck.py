"""Proving a scalar rule: its templates against `sympy.diff`, at random points.

One function serves two masters: the test suite walks every rule shipped in
`rules/*.toml` through it, and `load_table` runs every rule of a user's file
through it, refusing a wrong one with the counter-example. The comparison is
numeric (at seeded random points, in high precision) because deciding that two
expressions are equal symbolically can take SymPy unbounded time.

The reference derivative is taken of the operation with rules-file functions
expanded to their definitions, so a user's rule for `softplus` is checked
against the derivative of `log(1 + exp(u))`, not against itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy

from .ruletable import SLOTS, Rule, RuleTable, compiled_template
from .symbolic import build
from .userfunctions import expand_user_functions

PLACEHOLDERS = tuple(sympy.Symbol(s, real=True) for s in SLOTS)
_OPERATOR_ARITY = {"add": 2, "sub": 2, "mul": 2, "div": 2, "pow": 2, "neg": 1}
TOLERANCE = 1e-9


@dataclass(frozen=True)
class RuleVerdict:
    """What checking one rule found: a counter-example, or how many points agreed."""

    rule: Rule
    checked: dict[str, int]
    slot: str | None = None
    point: dict[str, float] | None = None
    expected: float | None = None
    got: float | None = None

    @property
    def ok(self) -> bool:
        return self.slot is None

    def counter_example(self) -> str:
        """One sentence: slot, point, expected and got (empty when the rule holds)."""
        if self.ok:
            return ""
        at = ", ".join(f"{name} = {value:.6g}" for name, value in (self.point or {}).items())
        template = self.rule.partials[self.slot]
        if self.expected is None:
            return f"partials.{self.slot} = {template!r}: no point near 0.9 or 3 where it is defined"
        return (f"partials.{self.slot} = {template!r} is wrong at {at}: "
                f"sympy.diff gives {self.expected:.10g}, the rule gives {self.got:.10g}")


def arity_of(rule: Rule, table: RuleTable) -> int:
    """How many arguments the operation a rule matches takes."""
    if rule.arity is not None:
        return rule.arity
    if rule.op in _OPERATOR_ARITY:
        return _OPERATOR_ARITY[rule.op]
    return table.function(rule.op).arity[0]


def real_value(expr: sympy.Basic, point: dict) -> float | None:
    """`expr` at `point` in 30-digit arithmetic; None where undefined or not real."""
    try:
        value = complex(expr.xreplace(point).evalf(30))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not (math.isfinite(value.real) and math.isfinite(value.imag)) or abs(value.imag) > 1e-12:
        return None
    return value.real


def verify_rule(rule: Rule, table: RuleTable, *, seed: int = 7, points: int = 12) -> RuleVerdict:
    """Check every partial template of a (non-generic) scalar rule against sympy.diff."""
    import numpy as np

    n = arity_of(rule, table)
    args = PLACEHOLDERS[:n]
    bound = {PLACEHOLDERS[SLOTS.index(s)]: compiled_template(v) for s, v in rule.constant.items()}
    applied = expand_user_functions(build(rule.op, [bound.get(a, a) for a in args], table))
    rng = np.random.default_rng(seed)
    checked: dict[str, int] = {}
    for slot, template in rule.partials.items():
        variable = PLACEHOLDERS[SLOTS.index(slot)]
        if variable in bound:
            continue
        expected = sympy.diff(applied, variable)
        got = expand_user_functions(compiled_template(template).xreplace(bound))
        count = 0
        for _ in range(200):
            point = _point(rng, args, bound, rule.op)
            want, have = real_value(expected, point), real_value(got, point)
            if want is None or have is None:
                continue
            if abs(want - have) > TOLERANCE * max(1.0, abs(want)):
                named = {str(k): float(v) for k, v in point.items() if isinstance(v, sympy.Float)}
                return RuleVerdict(rule, checked, slot, named, want, have)
            count += 1
            if count >= points:
                break
        checked[slot] = count
        if count < min(5, points):
            return RuleVerdict(rule, checked, slot)
    return RuleVerdict(rule, checked)


def _point(rng, args, bound, op: str) -> dict:
    """A random point away from 0 (where kinks and holes of the usual functions sit)."""
    point = {}
    for a in args:
        if a in bound:
            continue
        scale = rng.choice([0.9, 3.0])
        value = rng.uniform(-scale, scale)
        while abs(value) < 1e-3:
            value = rng.uniform(-scale, scale)
        point[a] = sympy.Float(value)
    if op == "where":
        point[PLACEHOLDERS[0]] = sympy.true if rng.random() < 0.5 else sympy.false
    return point


def checkable(rule: Rule) -> bool:
    """Rules with templates to prove (a generic rule *is* sympy.diff, nothing to check)."""
    return not rule.generic
