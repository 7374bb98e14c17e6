"""--answer / derive(answer=...): a student's derivative compared with the derived one, mistakes named."""

import json

import pytest
from typer.testing import CliRunner

from matcalc_sym import DeriveError, derive
from matcalc_sym.cli import app
from matcalc_sym.render.schema import errors

runner = CliRunner()
V = {"x": "n"}
QUADRATIC = {"x": "n", "A": "n,n"}
LAYER = {"W": "m,n", "x": "n"}


def report(text, wrt, shapes, answer):
    return derive(text, wrt, shapes=shapes, answer=answer).answer


@pytest.mark.parametrize(("text", "wrt", "shapes", "answer"), [
    ("x@A@x", "x", QUADRATIC, "A@x + A.T@x"),
    ("x@A@x", "x", QUADRATIC, "(A + A.T) @ x"),
    ("sin(x**2)", "x", {}, "2*x*cos(x**2)"),
    ("trace(A@X)", "X", {"A": "n,n", "X": "n,n"}, "A.T"),
    ("sum(tanh(W@x))", "x", LAYER, "W.T @ (1 - tanh(W@x)**2)"),
])
def test_a_right_answer_is_correct(text, wrt, shapes, answer):
    found = report(text, wrt, shapes, answer)
    assert found.correct, found.diagnosis
    assert found.line().startswith("answer correct: equal to the derivative at 4 random points")


@pytest.mark.parametrize(("text", "wrt", "shapes", "answer", "diagnosis"), [
    # the transpose of the right answer: a layout mix-up
    ("trace(A@X)", "X", {"A": "n,n", "X": "n,n"}, "A",
     "your answer is the transpose of the derivative: a layout mix-up. The derivation uses denominator layout"),
    ("a@X@b", "X", {"a": "m", "X": "m,n", "b": "n"}, "outer(b, a)", "the transpose of the derivative"),
    # a wrong constant factor
    ("sum(x**2)", "x", V, "x", "your answer is 1/2 times the derivative (a missing factor 2?)"),
    ("sin(x**2)", "x", {}, "x*cos(x**2)", "1/2 times the derivative (a missing factor 2?)"),
    ("mean(x**2)", "x", V, "2*x", "your answer is n times the derivative (a missing 1/n?)"),
    # a missing term of the sum
    ("x + x**2", "x", {}, "2*x", "your answer misses the term 1 of the sum"),
    ("sin(x)*x", "x", {}, "cos(x)*x", "your answer misses the term sin(x) of the sum"),
    ("x@A@x", "x", QUADRATIC, "A@x", "your answer misses the term x @ A of the sum"),
    # a missing chain-rule factor, named with its intermediate
    ("sin(x**2)", "x", {}, "cos(x**2)", "your answer misses the chain-rule factor 2*x = du1/dx (step 3, rule 'power')"),
    ("tanh(w@x)", "w", {"w": "n", "x": "n"}, "x", "misses the chain-rule factor 1 - tanh(u2)**2 = ∂y/∂u2"),
    ("sum(tanh(W@x))", "W", LAYER, "outer(ones(m), x)", "misses the chain-rule factor (1 - tanh(u1)**2)"),
    # the wrong shape
    ("sum(W@x)", "W", LAYER, "x", "your answer has shape (3,) but the derivative has shape (3, 3)"),
    ("sum(x**2)", "x", V, "outer(x, x)", "your answer has shape (3, 3) but the derivative has shape (1, 3)"),
    # element-wise and matrix products confused
    ("x@A@x", "x", QUADRATIC, "(A + A.T)*x",
     "`*` (element-wise) should be `@` (matrix product) at column 1: (A + A.T) @ x is the derivative"),
    ("sum(tanh(W@x))", "x", LAYER, "W.T*(1 - tanh(W@x)**2)", "`*` (element-wise) should be `@` (matrix product)"),
    ("sum(w*x*y)", "w", {"w": "n", "x": "n", "y": "n"}, "x@y", "`@` (matrix product) should be `*` (element-wise)"),
])
def test_each_common_mistake_is_named(text, wrt, shapes, answer, diagnosis):
    found = report(text, wrt, shapes, answer)
    assert not found.correct
    assert diagnosis in found.diagnosis, found.diagnosis
    assert found.step is not None and 1 <= found.step <= len(derive(text, wrt, shapes=shapes).steps)


def test_the_command_exits_3_on_a_wrong_answer_and_0_on_a_right_one():
    wrong = runner.invoke(app, ["sin(x**2)", "--answer", "cos(x**2)", "-f", "text"])
    assert wrong.exit_code == 3
    assert "answer NOT correct: your answer misses the chain-rule factor 2*x" in wrong.stdout
    assert wrong.stderr.startswith("error: answer NOT correct")
    right = runner.invoke(app, ["sin(x**2)", "--answer", "2*x*cos(x**2)", "-f", "text"])
    assert right.exit_code == 0 and "answer correct" in right.stdout


def test_json_carries_the_report_and_validates():
    result = runner.invoke(app, ["sum(x**2)", "-s", "x=n", "--answer", "x", "-f", "json"])
    document = json.loads(result.stdout)
    assert document["answer"]["correct"] is False and "1/2 times" in document["answer"]["diagnosis"]
    assert errors(document) == []


@pytest.mark.parametrize(("answer", "message"), [
    ("sin(q)", "answer: q is not a variable of the problem"),
    ("x@q", "answer: q is not a variable of the problem"),  # named before its shape is guessed
    ("__import__('os')", "answer: unknown function '__import__'"),
    ("x + 'a'", "answer: strings: not part of the input language"),
    ("x +", "answer: syntax error"),
    ("x@x", "answer: '@' needs arrays"),
    ("", "answer: write the derivative you expect"),
])
def test_a_bad_answer_is_a_clear_error(answer, message):
    with pytest.raises(DeriveError, match=message.replace("(", r"\(")):
        derive("sin(x**2)", answer=answer)


# -- issue 18 §6: at least two cases of every class, now that results read as a textbook writes them
# (2X for tr(XᵀX), (A + Aᵀ)X for tr(XᵀAX)): the diagnosis still names the mistake.

@pytest.mark.parametrize(("text", "wrt", "shapes", "answer", "diagnosis"), [
    # the transpose of the right answer
    ("trace(X@A)", "X", {"X": "n,n", "A": "n,n"}, "A", "your answer is the transpose of the derivative"),
    ("sum(exp(W@x))", "W", LAYER, "outer(x, exp(W@x))", "a layout mix-up. The derivation uses denominator layout"),
    # a wrong constant factor, where the result collects X + X into 2X
    ("trace(X.T@X)", "X", {"X": "n,n"}, "X", "your answer is 1/2 times the derivative (a missing factor 2?)"),
    ("trace(X@X)", "X", {"X": "n,n"}, "X.T", "your answer is 1/2 times the derivative (a missing factor 2?)"),
    # a missing term, where the result is factored: (A + Aᵀ)X has the terms AX and AᵀX
    ("trace(X.T@A@X)", "X", {"X": "n,n", "A": "n,n"}, "A@X", "your answer misses the term A.T @ X of the sum"),
    # an extra term (a path counted twice)
    ("x + x**2", "x", {}, "2*x + 2", "your answer has an extra term 1"),
    ("x@A@x", "x", QUADRATIC, "2*A.T@x + A@x", "your answer has an extra term x @ A"),
    # a missing matrix factor of the chain (the Aᵀ of least squares), found whether or not it changes the shape
    ("sum((A@x - b)**2)", "x", {"A": "m,n", "x": "n", "b": "m"}, "2*(A@x - b)",
     "your answer misses the chain-rule factor A, from ∂u1/∂x = A (step 5, rule 'matrix-vector-product')"),
    ("sum((A@x - b)**2)", "x", {"A": "n,n", "x": "n", "b": "n"}, "2*(A@x - b)",
     "your answer misses the chain-rule factor A, from ∂u1/∂x = A"),
    ("sum(tanh(W@x))", "x", LAYER, "1 - tanh(W@x)**2", "misses the chain-rule factor W, from ∂u1/∂x = W"),
    # the wrong shape
    ("sum(exp(W@x))", "W", LAYER, "exp(W@x)", "your answer has shape (3,) but the derivative has shape (3, 3)"),
    # `*` for `@`
    ("trace(A@X@B)", "X", {"A": "n,n", "X": "n,n", "B": "n,n"}, "A.T*B.T",
     "`*` (element-wise) should be `@` (matrix product) at column 1: A.T @ B.T is the derivative"),
])
def test_each_class_of_mistake_has_two_cases_or_more(text, wrt, shapes, answer, diagnosis):
    found = report(text, wrt, shapes, answer)
    assert not found.correct
    assert diagnosis in found.diagnosis, found.diagnosis
    assert found.step is not None


def test_every_class_of_mistake_is_covered_at_least_twice():
    """Counted over both tables of this file: a class with one case is a gap in the tests."""
    cases = [case for test in (test_each_common_mistake_is_named, test_each_class_of_mistake_has_two_cases_or_more)
             for mark in test.pytestmark if mark.name == "parametrize" for case in mark.args[1]]
    classes = ("the transpose of the derivative", "layout mix-up", "times the derivative", "misses the term",
               "extra term", "misses the chain-rule factor", "has shape", "should be `@`", "should be `*`")
    counts = {name: sum(1 for case in cases if name in case[-1]) for name in classes}
    counts["should be"] = counts.pop("should be `@`") + counts.pop("should be `*`")
    assert all(count >= 2 for count in counts.values()), counts


def test_the_report_is_printed_under_the_result_in_latex_and_markdown():
    d = derive("x@A@x", "x", shapes={"x": "n", "A": "n,n"}, answer="A@x")
    markdown, latex = d.to_markdown(), d.to_latex()
    assert "**Your answer** `A@x`: answer NOT correct: your answer misses the term x @ A of the sum" in markdown
    assert markdown.index("### Result") < markdown.index("**Your answer**")
    assert r"\textbf{Your answer} \texttt{A@x}: answer NOT correct" in latex
    assert "Your answer" not in derive("x@A@x", "x", shapes={"x": "n", "A": "n,n"}).to_markdown()
