"""`--check` / derive(check=True): the result and every local derivative verified."""

import dataclasses
import re

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from matcalc_sym import DeriveError, ParseError, api, derive
from matcalc_sym.check import _ResultCheck, verify
from matcalc_sym.cli import app
from matcalc_sym.ruletable import default_table
from tests.test_property_scalar import expressions as scalar_expressions
from tests.test_property_vector import vector_exprs

runner = CliRunner()
PASSED = re.compile(r"^check passed: (?P<what>.+), (?P<n>\d+) points, max rel\. error (?P<err>\S+), "
                    r"(?P<ok>\d+)/(?P<total>\d+) steps checked$")

RNN = {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}
NETWORK = ("Zh = X@Wh.T + bh; Ah = tanh(Zh); Zo = Ah@Wout.T + bout; Ao = tanh(Zo); "
           "L = sum((Ao - Y)**2)/(3*n)")
CASES = [
    ("log(sin(x**3)**2)", None, {}, "sympy.diff, finite differences", 4),
    ("x * x**2", None, {}, "sympy.diff, finite differences", 3),
    ("[3*x**2*y, 2*x + y**8]", "x,y", {}, "sympy.diff, finite differences", 8),
    ("max(0, x)*sin(y) + abs(y)", "x,y", {}, "sympy.diff, finite differences", 8),
    ("w/x", "x", {"w": "n", "x": "n"}, "finite differences", 1),
    ("max(0, dot(w, x) + b)", "w", {"w": "n", "x": "n"}, "finite differences", 4),
    ("mean((y - max(0, X@w + b))**2)", "w", {"X": "N,n", "y": "N", "w": "n"}, "finite differences", 6),
    ("c = tanh(Wc@cp + Wx@x + b)", "Wx", RNN, "finite differences", 4),
    (NETWORK, "Wout,bout,Wh,bh", {"X": "n,3", "Wh": "5,3", "bh": "5", "Wout": "3,5", "bout": "3", "Y": "n,3"},
     "directional finite differences", 15),
]


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "100", "NO_COLOR": "1"})


def test_acceptance_example_ends_with_a_passing_check_line():
    result = run("log(sin(x**3)**2)", "--check", "-f", "text")
    assert result.exit_code == 0, result.output
    last = result.stdout.rstrip("\n").splitlines()[-1]
    match = PASSED.match(last)
    assert match, last
    assert match["what"] == "sympy.diff, finite differences" and match["n"] == "5"
    assert (match["ok"], match["total"]) == ("4", "4")
    assert float(match["err"]) < 1e-6


@pytest.mark.parametrize("layout", ["auto", "denominator"])
@pytest.mark.parametrize(("expression", "wrt", "shapes", "compared", "steps"), CASES, ids=[c[0][:30] for c in CASES])
def test_worked_examples_pass_their_check(expression, wrt, shapes, compared, steps, layout):
    d = derive(expression, wrt, shapes=shapes, layout=layout, check=True)
    report = d.check
    assert report.passed, report.failure
    assert ", ".join(report.compared) == compared
    assert report.points == 5
    assert 0 <= report.max_error < 1e-6
    assert report.steps_verified == steps
    assert report.steps_total == d.kinds.count("differentiate")


@pytest.mark.parametrize(("expression", "wrt", "shapes", "witness"), [
    ("log(sin(x**3)**2)", None, {}, "sympy.diff"),
    ("3*x**2*y", "x,y", {}, "sympy.diff"),
    ("w*x", "w", {"w": "n", "x": "n"}, "central differences"),
    ("c = tanh(Wc@cp + Wx@x + b)", "b", RNN, "central differences"),
])
def test_a_wrong_result_fails_the_check(expression, wrt, shapes, witness):
    d = derive(expression, wrt, shapes=shapes)
    wrong = dataclasses.replace(d, result=d.result * sympy.Rational(101, 100))
    report = verify(wrong)
    assert not report.passed
    assert report.failure.startswith(f"the result disagrees with {witness} at ")
    assert "relative error" in report.failure
    assert report.line().startswith("check FAILED: the result disagrees")


def test_a_transposed_result_fails_on_its_shape():
    d = derive("[x*y, x + y, x**2]", "x,y")
    report = verify(dataclasses.replace(d, result=d.result.T))
    assert not report.passed
    assert report.failure == "the result has shape (2, 3) but sympy.diff give (3, 2)"


def test_a_wrong_step_is_named():
    d = derive("log(sin(x**3)**2)")
    index = next(i for i, s in enumerate(d.steps) if s.kind == "differentiate" and s.rule == "sin")
    steps = list(d.steps)
    steps[index] = dataclasses.replace(steps[index], rhs=-steps[index].rhs)
    report = verify(dataclasses.replace(d, steps=steps))
    assert not report.passed
    assert report.failure.startswith(f"step {index + 1} (du2/du1 = -cos(u1), rule 'sin') disagrees with "
                                     "sympy.diff of u2's definition at u1 = ")
    assert report.steps_verified == 1  # the power step before it was fine


def test_a_wrong_local_jacobian_is_named():
    d = derive("max(0, dot(w, x) + b)", "w", shapes={"w": "n", "x": "n"})
    index = next(i for i, s in enumerate(d.steps) if s.kind == "differentiate")
    steps = list(d.steps)
    steps[index] = dataclasses.replace(steps[index], rhs=2 * steps[index].rhs)
    report = verify(dataclasses.replace(d, steps=steps))
    assert not report.passed
    assert re.fullmatch(rf"step {index + 1} \(∂u1/∂w = 2\*diag\(x\), rule 'element-wise-diagonal'\) disagrees "
                        r"with finite differences of u1's definition \(relative error \S+\)", report.failure), report.failure


def test_backprop_steps_are_verified_with_a_random_upstream_adjoint():
    report = derive("c = tanh(Wc@cp + Wx@x + b)", "Wx", shapes=RNN, check=True).check
    assert report.passed and (report.steps_verified, report.steps_total) == (4, 4)


def test_a_wrong_vector_jacobian_product_is_named_at_its_step():
    d = derive("c = tanh(Wc@cp + Wx@x + b)", "Wx", shapes=RNN)
    index = next(i for i, s in enumerate(d.steps) if s.kind == "differentiate" and s.rule == "matmul-left")
    steps = list(d.steps)
    steps[index] = dataclasses.replace(steps[index], rhs=2 * steps[index].rhs)
    report = verify(dataclasses.replace(d, steps=steps))
    assert not report.passed
    assert re.fullmatch(rf"step {index + 1} \(∂J/∂Wx = 2\*\(dJ/du2\) @ x\.T, rule 'matmul-left'\) disagrees with "
                        r"finite differences of the sum of a random upstream adjoint times u2's definition, by Wx "
                        r"\(relative error \S+\)", report.failure), report.failure


def test_a_wrong_product_for_a_large_parameter_is_named_along_a_random_direction():
    """u3 = Woutᵀ has 15 entries (more than ENTRYWISE_LIMIT): its step is compared along a random
    direction, four evaluations a point instead of sixty, and a wrong product still fails there."""
    d = derive(NETWORK, "Wout,bout,Wh,bh", shapes={"X": "n,3", "Wh": "5,3", "bh": "5", "Wout": "3,5",
                                                   "bout": "3", "Y": "n,3"})
    index = next(i for i, s in enumerate(d.steps) if s.kind == "differentiate" and str(s.lhs) == "∂L/∂u3")
    steps = list(d.steps)
    steps[index] = dataclasses.replace(steps[index], rhs=2 * steps[index].rhs)
    report = verify(dataclasses.replace(d, steps=steps))
    assert not report.passed
    assert re.fullmatch(rf"step {index + 1} \(∂L/∂u3 = 2\*Ah\.T @ \(dL/du4\), rule 'matmul-right'\) disagrees with "
                        r"finite differences of the sum of a random upstream adjoint times u4's definition, by u3 "
                        r"along a random direction \(relative error \S+\)", report.failure), report.failure


def test_a_wrong_vjp_rule_in_the_tables_is_caught_at_its_step(monkeypatch):
    from matcalc_sym.operations import operation

    vjps = operation("matmul").vjps
    right = vjps["grad-times-right-transposed"]
    monkeypatch.setitem(vjps, "grad-times-right-transposed", lambda c: sympy.MatMul(2, right(c)))
    report = derive("c = tanh(Wc@cp + Wx@x + b)", "Wx", shapes=RNN, check=True).check
    assert not report.passed
    assert "rule 'matmul-left'" in report.failure and "random upstream adjoint" in report.failure


def wrong_sin_table():
    table = default_table()
    rules = tuple(dataclasses.replace(r, partials={"u": "-cos(u)"}) if r.op == "sin" else r for r in table.rules)
    return dataclasses.replace(table, rules=rules)


def test_a_wrong_rule_in_the_tables_is_caught_at_its_step_with_exit_3(monkeypatch):
    monkeypatch.setattr(api, "default_table", wrong_sin_table)
    result = run("log(sin(x**3)**2)", "--check", "-f", "text")
    assert result.exit_code == 3
    last = result.stdout.rstrip("\n").splitlines()
    assert any(line.startswith("check FAILED: step 6 (du2/du1 = -cos(u1), rule 'sin')") for line in last[-3:])
    assert result.stderr.startswith("error: check failed: step 6 (du2/du1 = -cos(u1), rule 'sin')")


def test_without_check_there_is_no_check_line():
    result = run("sin(x**2)", "-f", "text")
    assert result.exit_code == 0
    assert "check:" not in result.stdout
    assert derive("sin(x**2)").check is None


def test_json_carries_the_report():
    import json

    result = run("sin(x**2)", "--check", "-f", "json")
    data = json.loads(result.stdout)
    assert data["check"]["passed"] is True
    assert data["check"]["points"] == 5
    assert data["check"]["compared"] == ["sympy.diff", "finite differences"]
    assert data["check"]["steps_verified"] == data["check"]["steps_total"] == 2


def test_check_survives_the_time_limited_child():
    d = derive("sin(x)*exp(x)", check=True, timeout=30)
    assert d.check.passed and d.check.points == 5


def test_points_near_a_kink_or_a_jump_are_not_used():
    d = derive("abs(x - 1) + where(x > 2, 5, 0)")
    probe = _ResultCheck(d, np.random.default_rng(0))
    assert probe._jacobian({"x": 1.0 + 1e-7}, "x") is None
    assert probe._jacobian({"x": 2.0 - 3e-6}, "x") is None
    assert probe._jacobian({"x": 1.5}, "x") == pytest.approx(np.array([[1.0]]))
    assert d.check is None and verify(d).passed


def test_points_in_a_hole_are_not_used():
    d = derive("log(x) + sqrt(x - 1)")
    probe = _ResultCheck(d, np.random.default_rng(0))
    assert probe._jacobian({"x": 0.5}, "x") is None
    assert verify(d).passed


def test_an_expression_defined_nowhere_real_cannot_pass():
    report = derive("sqrt(-x**2 - 1)", check=True).check
    assert not report.passed
    assert report.failure == "no point found where the expression is defined and smooth"
    result = run("sqrt(-x**2 - 1)", "--check", "-f", "text")
    assert result.exit_code == 3


def test_the_check_is_seeded():
    d = derive("tanh(x)**3")
    assert verify(d) == verify(d)



@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scalar_expressions())
def test_random_scalar_derivations_pass_their_check(text):
    text = text if re.search(r"\bx\b", text) else f"x + {text}"
    try:
        d = derive(text, wrt="x", check=True)
    except (ParseError, DeriveError):
        return  # refused by design (huge or undefined constants), see test_property_scalar
    report = d.check
    defined_nowhere = report.failure == "no point found where the expression is defined and smooth"
    assert report.passed or defined_nowhere, (text, report.failure)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(vector_exprs(), st.sampled_from(["w", "z"]), st.sampled_from(["auto", "denominator"]))
def test_random_vector_derivations_pass_their_check(expr, wrt, layout):
    text = expr[0] if wrt in expr[0] else f"{expr[0]} + 0*w + 0*z"
    report = derive(text, wrt, shapes={"w": "n", "x": "n"}, layout=layout, check=True).check
    assert report.passed, (text, report.failure)
    assert report.points == 5


def test_a_long_sum_is_checked_without_recursing_through_sympy_diff():
    """sympy.diff recurses on the tree: a deep one is left to the differences of the text."""
    from matcalc_sym.check import SYMBOLIC_DEPTH, _shallow

    report = derive("+".join(f"sin({i}*x)" for i in range(1, 400)), check=True).check
    assert report.passed, report.failure
    x = sympy.Symbol("x")
    deep = x
    for i in range(SYMBOLIC_DEPTH + 5):
        deep = sympy.Add(sympy.sin(i * x), deep, evaluate=False) if i % 2 else sympy.sin(deep)
    assert not _shallow(deep, SYMBOLIC_DEPTH, 10**6)
    assert _shallow(sympy.sin(x) * x, SYMBOLIC_DEPTH, 10**6)


def test_the_check_draws_other_sizes_when_the_text_is_undefined_at_the_first():
    """log det(XXᵀ) has no value when X is taller than wide (XXᵀ is singular): with symbolic sizes the check
    tries other sizes instead of reporting that no point exists; with declared tall sizes it still says so."""
    from matcalc_sym import derive

    d = derive("log(det(X@X.T))", "X", shapes={"X": "n,m"}, check=True)
    assert d.check.passed and d.check.points > 0, d.check.failure
    tall = derive("log(det(X@X.T))", "X", shapes={"X": "5,3"}, check=True)
    assert not tall.check.passed and "no point found" in tall.check.failure


def test_the_check_draws_positive_inputs_when_signed_ones_find_no_point():
    """X log X of a 3×3 X needs all nine entries positive (1 draw in 512 with random signs): after half
    its attempts the check draws positive inputs, for the first derivative and for the Hessian-vector product."""
    from matcalc_sym import derive

    first = derive("sum(X*log(X))", "X", shapes={"X": "3,3"}, check=True)
    assert first.check.passed and first.check.points > 0, first.check.failure
    second = derive("sum(X*log(X))", "X", shapes={"X": "m,n"}, hvp=True, check=True)
    assert second.check.passed, second.check.failure
    assert str(second.result) == "V/X"
