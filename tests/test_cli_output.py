"""The command line's output options: --format, -o FILE by extension, --standalone, --graph, --order."""

import json

import pytest
from typer.testing import CliRunner

from matcalc_sym.cli import app
from matcalc_sym.render.schema import errors

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "80", "NO_COLOR": "1"})


@pytest.mark.parametrize(("name", "starts"), [
    ("steps.tex", r"\textbf{Derivative of} \texttt{sin(x**2)}"),
    ("steps.md", "## Derivative of `sin(x**2)` by $x$"),
    ("steps.json", "{"),
    ("steps.dot", "// dataflow of sin(x**2)"),
    ("steps.txt", "dy/dx  of  sin(x**2)"),
    ("STEPS.TEX", r"\textbf{Derivative of}"),
])
def test_output_file_format_comes_from_the_extension(tmp_path, name, starts):
    target = tmp_path / name
    result = run("sin(x**2)", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8").startswith(starts)


def test_format_option_wins_over_the_extension(tmp_path):
    target = tmp_path / "steps.txt"
    assert run("sin(x**2)", "-o", str(target), "--format", "json").exit_code == 0
    assert errors(json.loads(target.read_text(encoding="utf-8"))) == []


def test_standalone_latex_document(tmp_path):
    target = tmp_path / "steps.tex"
    assert run("sin(x**2)", "-o", str(target), "--standalone").exit_code == 0
    document = target.read_text(encoding="utf-8")
    assert document.startswith(r"\documentclass") and document.rstrip().endswith(r"\end{document}")
    fragment = run("sin(x**2)", "-f", "latex").stdout
    assert r"\documentclass" not in fragment and r"\begin{align*}" in fragment


def test_markdown_and_dot_on_stdout():
    markdown = run("x + x**2", "-f", "markdown")
    assert markdown.exit_code == 0 and "### 3. Combine with the chain rule (by $x$)" in markdown.stdout
    dot = run("x + x**2", "-f", "dot")
    assert dot.exit_code == 0
    assert '"x" -> "y" [color=red, penwidth=2];' in dot.stdout
    assert '"u1" -> "y" [color=red, penwidth=2];' in dot.stdout


def test_graph_draws_the_dag_with_the_paths():
    result = run("sin(x + x**2)", "--graph", "-f", "text")
    assert result.exit_code == 0
    out = result.stdout
    assert "2 paths from x to y: the total-derivative chain rule sums" in out
    assert "● y = sin(u2)\n┗━━ ● u2 = x + u1\n" in out
    assert out.index("Dataflow graph") < out.index("Introduce intermediate variables")


def test_order_prints_the_forward_and_backward_table():
    result = run("sin(x**2)", "--order", "-f", "text")
    assert result.exit_code == 0
    assert "Forward differentiation" in result.stdout and "Backward differentiation" in result.stdout
    assert "│    1 │ dx/dx = 1" in result.stdout
    assert "dy/dx = dy/du1·du1/dx" in result.stdout


def test_views_go_to_stderr_when_stdout_is_json():
    result = run("sin(x**2)", "--order", "--graph", "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["schema"] == 1
    assert "Forward differentiation" in result.stderr and "Dataflow graph" in result.stderr


def test_unwritable_output_is_one_error_line(tmp_path):
    target = tmp_path / "missing" / "steps.tex"
    result = run("sin(x**2)", "-o", str(target))
    assert result.exit_code == 74  # the output could not be written (EX_IOERR), not the user's input
    assert result.stderr == (f"error: cannot write {target}: No such file or directory; "
                             "the previous file, if any, is unchanged\n")
