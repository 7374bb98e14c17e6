"""Every renderer handles every input the parser accepts, up to the documented limits.

A sum of 400 terms (or a0 + … + a319 by a0) is a graph of more than 300
operations, built without SymPy's evaluation, so it arrived as a sum nested
400 deep and JSON, LaTeX, Markdown and NumPy output failed with
RecursionError. Sums are now flattened (`treeshape.flatten`); what cannot be
flattened (the derivative of a long product nests two levels per factor) is
rendered in a worker with a deep stack (`render.deep`).
"""

from __future__ import annotations

import io
import json
import math

import pytest
import sympy
from rich.console import Console
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from matcalc_sym.render.deep import IN_PROCESS_HEIGHT
from matcalc_sym.render.schema import errors
from matcalc_sym.treeshape import flatten, height, tallest
from tests.examples import ALL

runner = CliRunner()
x = sympy.Symbol("x", real=True)

#: (id, text, wrt, shapes, values, expected value of the output, expected derivative)
CASES = [
    ("sum-400", "+".join(["x"] * 400), "x", {}, {"x": 0.5}, 200.0, 400.0),
    ("names-320", "+".join(f"a{i}" for i in range(320)), "a0", {}, {f"a{i}": 1.0 for i in range(320)}, 320.0, 1.0),
    ("sum-600", "+".join(["x"] * 300 + ["sin(x)"] * 300), "x", {}, {"x": 0.25},
     75.0 + 300 * math.sin(0.25), 300.0 + 300 * math.cos(0.25)),
    ("statements-200", "z0 = x; " + "; ".join(f"z{i} = z{i - 1} + x*{i}" for i in range(1, 200)), "x", {},
     {"x": 2.0}, 2.0 + 2.0 * sum(range(1, 200)), 1.0 + sum(range(1, 200))),
    ("depth-99", "sin(" * 99 + "x" + ")" * 99, "x", {}, {"x": 0.3}, None, None),
    ("product-150", "*".join(["x"] * 150), "x", {}, {"x": 1.01}, 1.01**150, 150 * 1.01**149),
    ("vector-sum-400", "sum(" + "+".join(["w"] * 400) + ")", "w", {"w": "n"}, {"w": [1.0, 2.0]}, 1200.0, None),
]


def _rich(derivation) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=100, color_system=None).print(derivation)
    return buffer.getvalue()


def _module(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "exported.py", "exec"), namespace)  # the test runs the code the tool generated
    return namespace


@pytest.mark.parametrize(("text", "wrt", "shapes", "values", "value", "slope"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_renderer_handles_input_at_the_limits(text, wrt, shapes, values, value, slope):
    d = derive(text, wrt, shapes=shapes)
    document = json.loads(json.dumps(d.to_dict()))
    assert errors(document) == []
    assert document["wrt"] == [wrt]
    latex = d.to_latex(standalone=True)
    assert latex.count("{") == latex.count("}") and latex.endswith("\\end{document}\n")
    assert d.to_markdown().rstrip().endswith("$$")
    assert "Result" in d.to_text() and "Result" in _rich(d)
    module = _module(d.to_numpy())
    got_value, got_slope = module["f_and_grad"](**values)
    if value is not None:
        assert float(got_value) == pytest.approx(value, rel=1e-9)
    if slope is not None:
        assert float(got_slope) == pytest.approx(slope, rel=1e-9)
        assert float(d.evaluate(values)) == pytest.approx(slope, rel=1e-9)


def test_the_sum_of_400_terms_is_one_flat_sum_and_its_derivative_400():
    d = derive("+".join(["x"] * 400), "x")
    assert d.result == 400
    assert height(d.expression) == 2  # Add(x, x, …, x): one level of 400 arguments
    assert len(d.expression.args) == 400
    assert d.to_dict()["result"]["text"] == "400"


def test_a_long_products_derivative_renders_in_a_worker_with_the_same_text():
    """150 factors: a derivative 300 levels deep, beyond the caller's stack; rendered by a worker."""
    d = derive("*".join(["x"] * 150), "x")
    assert tallest(d) > IN_PROCESS_HEIGHT
    assert d.result == 150 * x**149
    assert d.to_dict()["result"]["text"] == "150*x**149"
    assert "150 x^{149}" in d.to_latex()


def test_a_product_too_deep_for_the_callers_stack_is_a_clear_error_or_works_with_a_timeout():
    from matcalc_sym.errors import DeriveError

    text = "*".join(["x"] * 320)
    with pytest.raises(DeriveError, match="timeout=seconds"):
        derive(text, "x")
    d = derive(text, "x", timeout=60)  # 640 levels deep: walked by workers, never by this process
    assert tallest(d) > 630
    assert d.to_latex().startswith(r"\textbf{Derivative of}")
    value, slope = _module(d.to_numpy())["f_and_grad"](x=1.001)
    assert float(slope) == pytest.approx(320 * 1.001**319, rel=1e-9)


@pytest.mark.parametrize("fmt", ["json", "latex", "markdown", "numpy", "text", "dot"])
def test_the_command_renders_the_reported_inputs_in_every_format(fmt):
    for args in (["+".join(["x"] * 400)], ["+".join(f"a{i}" for i in range(320)), "-w", "a0"]):
        result = runner.invoke(app, [*args, "-f", fmt])
        assert result.exit_code == 0, result.stderr
        assert "error" not in result.stderr


@pytest.mark.parametrize("example", ALL, ids=[e.key for e in ALL])
def test_json_text_and_srepr_are_sympys_own(example):
    """The JSON printers remember what they printed (200-step derivations were quadratic); the text is unchanged."""
    d = derive(example.text, example.wrt, shapes=example.shapes)
    document = d.to_dict()
    assert document["result"]["srepr"] == sympy.srepr(d.result)
    assert document["result"]["text"] == sympy.sstr(d.result)
    for step, data in zip(d.steps, document["steps"]):
        assert data["rhs"]["srepr"] == sympy.srepr(step.rhs)
        assert data["rhs"]["text"] == sympy.sstr(step.rhs)


def test_flatten_keeps_the_terms_and_their_order():
    a, b, c = sympy.symbols("a b c")
    nested = sympy.Add(sympy.Add(a, sympy.Mul(sympy.Mul(2, b, evaluate=False), c, evaluate=False),
                                 evaluate=False), sympy.sin(sympy.Add(sympy.Add(a, b, evaluate=False), c,
                                                                      evaluate=False)), evaluate=False)
    flat = flatten(nested)
    assert flat.args[0] == a and flat.args[1].args == (2, b, c)
    assert flat.args[2].args[0].args == (a, b, c)
    assert sympy.simplify(flat - nested) == 0
    assert flatten(x) is x
