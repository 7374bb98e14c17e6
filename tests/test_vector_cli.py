"""The vector part of the command line: shapes, the neuron, the element-wise check."""

import json

import pytest
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "100", "NO_COLOR": "1"})


def test_neuron_from_the_command_line():
    result = run("max(0, dot(w, x) + b)", "--wrt", "w", "--shape", "w=n", "--shape", "x=n", "-f", "text")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "chain rule: vector   layout: numerator" in out
    for fragment in ["u₁ = w ⊙ x", "u₂ = sum(u₁)", "y = max(0, u₃)", "element-wise-diagonal",
                     "sum-reduction", "relu", "for b + w·x > 0", "otherwise", "vector chain rule"]:
        assert fragment in out, fragment


def test_neuron_json_records_shapes():
    result = run("max(0, dot(w, x) + b)", "-w", "w", "-s", "w=n", "-s", "x=n", "-f", "json")
    data = json.loads(result.stdout)
    assert data["shapes"] == {"w": "n", "x": "n"}
    assert data["chain_rule"] == "vector"
    assert data["result"]["text"] == "Piecewise((x.T, b + w·x > 0), (0, True))"
    (combine,) = [s for s in data["steps"] if s["kind"] == "combine"]
    assert combine["shapes"]["factors"] == "(1×n) = (1×1)(1×1)(1×n)(n×n)"


@pytest.mark.parametrize("args", [
    ["w + x", "-w", "w", "-s", "w=n", "-s", "x=m"],
    ["w @ x", "-w", "w", "-s", "w=n", "-s", "x=m"],
    ["w + x", "-w", "w", "-s", "w=n,m,k"],
    ["w + x", "-w", "w", "-s", "w=-1"],
    ["w + x", "-w", "w", "-s", "=n"],
])
def test_shape_errors_exit_2_with_one_line(args):
    result = run(*args)
    assert result.exit_code == 2
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
    assert "Traceback" not in result.stderr


def test_shape_mismatch_names_both_shapes():
    result = run("w + x", "-w", "w", "-s", "w=n", "-s", "x=m")
    assert "(n,) and (m,)" in result.stderr and "'+'" in result.stderr


def test_expand_check_from_the_command_line():
    result = run("sum(w*x)", "-w", "w", "-s", "w=n", "-s", "x=n", "--expand", "3", "-f", "text")
    assert result.exit_code == 0
    assert "Element-wise check (every dimension = 3)" in result.stdout
    assert "w₁⋅x₁ + w₂⋅x₂ + w₃⋅x₃" in result.stdout
    assert "equal: the vector result is the Jacobian of the components" in result.stdout


@pytest.mark.parametrize(("text", "wrt", "shapes"), [
    ("w*x", "w", {"w": "n", "x": "n"}),
    ("w/x", "x", {"w": "n", "x": "n"}),
    ("x*z", "z", {"x": "n"}),
    ("sum(x*z)", "x", {"x": "n"}),
    ("max(0, dot(w, x) + b)", "w", {"w": "n", "x": "n"}),
    ("mean((y - max(0, X@w + b))**2)", "w", {"X": "N,n", "y": "N", "w": "n"}),
])
def test_expand_agrees_for_the_design_examples(text, wrt, shapes):
    d = derive(text, wrt, shapes=shapes, expand=3)
    assert d.expansion.equal
    assert d.expansion.jacobian.shape == d.expansion.vector_result.shape


def test_expand_detects_a_wrong_result():
    import dataclasses

    import sympy

    from matcalc_sym.expand import expand_check

    d = derive("w*x", "w", shapes={"w": "n", "x": "n"})
    wrong = dataclasses.replace(d, result=sympy.Identity(d.result.shape[0]))
    assert not expand_check(wrong, 3).equal
