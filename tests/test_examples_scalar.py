"""DESIGN.md examples 1–8: steps, intermediate variables, chain rule, rule ids, result."""

import pytest
import sympy

from matcalc_sym import derive
from matcalc_sym.steps import Partial
from tests.helpers import assert_equals_sympy_diff, assert_matches_finite_differences

x, y = sympy.symbols("x y", real=True)
u1, u2, u3 = sympy.symbols("u1 u2 u3", real=True)


def introduced(d):
    return [(str(s.lhs), s.rhs) for s in d.steps if s.kind == "introduce"]


def rules_of(d, kind):
    return [s.rule for s in d.steps if s.kind == kind]


def test_example_1_sin_of_square():
    d = derive("sin(x**2)")
    assert d.rule == "single-variable"
    assert d.kinds == ["introduce", "introduce", "differentiate", "differentiate", "combine", "substitute"]
    assert [name for name, _ in introduced(d)] == ["u1", "y"]
    assert introduced(d)[0][1] == x**2
    assert introduced(d)[1][1] == sympy.sin(u1)
    local = [s for s in d.steps if s.kind == "differentiate"]
    assert [s.rule for s in local] == ["power", "sin"]
    assert local[0].lhs == Partial("u1", "x", False) and local[0].rhs == 2 * x
    assert local[1].lhs == Partial("y", "u1", False) and local[1].rhs == sympy.cos(u1)
    (combine,) = [s for s in d.steps if s.kind == "combine"]
    assert combine.rule == "single-variable chain rule"
    assert combine.formula == Partial("y", "u1", False) * Partial("u1", "x", False)
    assert combine.rhs == 2 * x * sympy.cos(u1)
    assert d.result == 2 * x * sympy.cos(x**2)
    assert_equals_sympy_diff(d, "x")


def test_example_2_log_sin_cube_squared():
    d = derive("log(sin(x**3)**2)")
    assert d.rule == "single-variable"
    assert introduced(d) == [("u1", x**3), ("u2", sympy.sin(u1)), ("u3", u2**2), ("y", sympy.log(u3))]
    assert rules_of(d, "differentiate") == ["power", "sin", "power", "log"]
    (combine,) = [s for s in d.steps if s.kind == "combine"]
    assert len(combine.formula.args) == 4
    assert sympy.simplify(d.result - 6 * x**2 * sympy.cos(x**3) / sympy.sin(x**3)) == 0
    assert not d.result.has(sympy.tan)
    assert_equals_sympy_diff(d, "x")


@pytest.mark.parametrize(
    ("text", "expected", "differentiate_rules"),
    [
        ("x + x**2", 1 + 2 * x, ["power", "sum", "sum"]),
        ("sin(x + x**2)", (1 + 2 * x) * sympy.cos(x + x**2), ["power", "sum", "sum", "sin"]),
        ("x * x**2", 3 * x**2, ["power", "product", "product"]),
        ("9*(x + x**2)", 9 + 18 * x, ["power", "sum", "sum", "constant-multiple"]),
    ],
)
def test_examples_3_to_6_total_derivative(text, expected, differentiate_rules):
    d = derive(text)
    assert d.rule == "total-derivative"
    assert rules_of(d, "differentiate") == differentiate_rules
    assert "total-derivative chain rule" in rules_of(d, "combine")
    assert sympy.expand(d.result - expected) == 0
    assert_equals_sympy_diff(d, "x")
    assert_matches_finite_differences(d, {"x": 0.7})


def test_example_3_names_the_variable_with_two_parameters():
    d = derive("x + x**2")
    (combine,) = [s for s in d.steps if s.kind == "combine"]
    assert "y has 2 parameters that depend on x" in combine.explanation
    # the paper's order: the direct partial first, then the one through u1
    assert list(combine.formula.args) == [Partial("y", "x", True), Partial("y", "u1", True) * Partial("u1", "x", False)]
    assert d.result == 2 * x + 1


def test_example_6_is_expanded_like_the_paper():
    assert derive("9*(x + x**2)").result == 18 * x + 9


def test_example_7_gradient_row():
    d = derive("3*x**2*y", wrt="x,y")
    assert d.layout == "numerator"
    assert d.result == sympy.ImmutableMatrix([[6 * x * y, 3 * x**2]])
    assert d.result.shape == (1, 2)
    assert [s.wrt for s in d.steps if s.kind == "substitute"] == ["x", "y"]
    assert d.steps[-1].rule == "gradient" or d.steps[-2].rule == "gradient"
    assert_matches_finite_differences(d, {"x": 0.3, "y": -1.2})


def test_example_7_denominator_layout_is_a_column():
    d = derive("3*x**2*y", wrt=["x", "y"], layout="denominator")
    assert d.layout == "denominator"
    assert d.result == sympy.ImmutableMatrix([[6 * x * y], [3 * x**2]])


def test_example_8_jacobian():
    d = derive("[3*x**2*y, 2*x + y**8]", wrt="x, y")
    assert d.rule == "vector"
    assert d.result == sympy.ImmutableMatrix([[6 * x * y, 3 * x**2], [2, 8 * y**7]])
    assert "jacobian" in rules_of(d, "combine")
    assert_matches_finite_differences(d, {"x": 0.4, "y": 0.9})


def test_same_result_whichever_chain_rule_explains_it():
    single = derive("sin(x)*cos(y)", wrt="x")
    total = derive("sin(x)*cos(x)", wrt="x")
    assert single.rule == "single-variable" and total.rule == "total-derivative"
    assert_equals_sympy_diff(single, "x")
    assert_equals_sympy_diff(total, "x")


def test_user_named_statements_become_intermediate_variables():
    d = derive("z = x**2; y = sin(z)")
    assert [name for name, _ in introduced(d)] == ["z", "y"]
    assert d.result == 2 * x * sympy.cos(x**2)


def test_shared_subexpression_is_introduced_once():
    d = derive("sin(x**2) + cos(x**2)")
    names = [name for name, _ in introduced(d)]
    assert names == ["u1", "u2", "u3", "y"]
    assert "used 2 times" in d.steps[0].explanation
    assert_equals_sympy_diff(d, "x")


def test_wrt_not_in_expression_is_zero_with_a_note():
    d = derive("sin(x)", wrt="z")
    assert d.result == 0
    assert any("does not depend on z" in note for note in d.notes)


def test_general_power_and_generic_rule():
    d = derive("x**x")
    assert rules_of(d, "differentiate") == ["general-power"]
    assert_equals_sympy_diff(d, "x")
    g = derive("gamma(x)")
    assert rules_of(g, "differentiate") == ["sympy-table"]
    assert_equals_sympy_diff(g, "x", points=3)


def test_relu_is_piecewise():
    d = derive("max(0, 3*x)")
    assert rules_of(d, "differentiate") == ["constant-multiple", "relu"]
    assert d.evaluate({"x": 1.0}) == 3.0
    assert d.evaluate({"x": -1.0}) == 0.0


def test_evaluate_returns_float_for_scalar():
    value = derive("sin(x**2)").evaluate({"x": 0.5})
    assert isinstance(value, float)
    assert abs(value - 2 * 0.5 * __import__("math").cos(0.25)) < 1e-12
