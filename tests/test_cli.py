"""The command line through typer's CliRunner: outputs, exit statuses, errors."""

import json

import pytest
from typer.testing import CliRunner

from matcalc_sym.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "90", "NO_COLOR": "1"})


def test_text_output_of_example_1():
    result = run("sin(x**2)", "--format", "text")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("dy/dx  of  sin(x**2)\nchain rule: single-variable   layout: numerator\n")
    for fragment in ["1. Introduce intermediate variables", "u₁ = x", "y = sin(u₁)",
                     "2. Differentiate each intermediate variable (by x)", "power", "sin",
                     "3. Combine with the chain rule (by x)", "single-variable chain rule",
                     "4. Substitute back (by x)", "Result", "2⋅x⋅cos⎝x ⎠"]:
        assert fragment in out, fragment
    assert "\x1b[" not in out


def test_pretty_output_of_example_1_has_the_same_blocks():
    result = run("sin(x**2)", "--format", "pretty")
    assert result.exit_code == 0
    assert "Introduce intermediate variables" in result.stdout
    assert "Result" in result.stdout
    assert "dy/du" not in result.stdout  # fractions are stacked, not slashed


def test_json_output_of_example_1():
    result = run("sin(x**2)", "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema"] == 1
    assert data["chain_rule"] == "single-variable"
    assert data["result"]["text"] == "2*x*cos(x**2)"
    assert [s["kind"] for s in data["steps"]] == [
        "introduce", "introduce", "differentiate", "differentiate", "combine", "substitute"]
    assert [s["rule"] for s in data["steps"]][2:4] == ["power", "sin"]
    assert data["steps"][4]["formula"]["latex"] == r"\frac{d y}{d u_{1}} \frac{d u_{1}}{d x}"


def test_total_derivative_named_on_the_command_line():
    result = run("x + x**2", "-f", "text")
    assert result.exit_code == 0
    assert "chain rule: total-derivative" in result.stdout
    assert "1 + 2⋅x" in result.stdout


def test_wrt_option_several_forms():
    for args in (["--wrt", "x,y"], ["-w", "x", "-w", "y"]):
        result = run("3*x**2*y", *args, "-f", "json")
        assert result.exit_code == 0
        assert json.loads(result.stdout)["result"]["text"] == "Matrix([[6*x*y, 3*x**2]])"


def test_output_file(tmp_path):
    target = tmp_path / "d.json"
    result = run("sin(x**2)", "-o", str(target))
    assert result.exit_code == 0
    assert json.loads(target.read_text())["result"]["text"] == "2*x*cos(x**2)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sin(x", "never closed"),
        ("x +", "syntax error"),
        ("sine(x)", "did you mean 'sin'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("x.__class__", "only '.T'"),
        ("().__class__.__bases__", "only '.T'"),
        ("lambda: 1", "lambda"),
        ("2**10**10**10", "too large"),
        ("[i for i in x]", "comprehensions"),
        ("x[0]", "indexing"),
        ("'abc'", "strings"),
        ("sin(x=1)", "no keyword argument"),
        ("", "empty input"),
        ("x + y", "several variables"),
        ("open('f')", "unknown function"),
        ("x := 3", "syntax error"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(text, message):
    result = run(text)
    assert result.exit_code == 2, result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    assert message in error_lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_caret_under_the_column():
    result = run("x + sine(x)")
    assert result.stderr.splitlines()[1:] == ["  x + sine(x)", "      ^"]


def test_timeout_is_exit_4():
    from matcalc_sym import sandbox

    def slow():
        import time

        sandbox.report_stage("simplify")
        time.sleep(5)

    with pytest.raises(Exception) as info:
        sandbox.run_limited(slow, timeout=0.5)
    assert info.value.exit_code == 4
    assert info.value.stage == "simplify"
    assert "simplify" in str(info.value)


def test_help_explains():
    result = run("--help")
    assert result.exit_code == 0
    for option in ["--wrt", "--shape", "--layout", "--format", "--output", "--no-simplify", "--timeout"]:
        assert option in result.stdout
