"""JSON schema 1, Markdown and notebook display for every DESIGN example."""

import copy
import json
import re
from html.parser import HTMLParser

import pytest

from matcalc_sym import derive
from matcalc_sym.render.schema import SCHEMA, errors
from tests.examples import ALL, derived
from tests.latex_engine import compile_latex, needs_engine

KINDS = ("introduce", "differentiate", "combine", "substitute", "simplify")


@pytest.mark.parametrize("example", ALL, ids=lambda e: e.key)
def test_json_of_every_example_follows_schema_1(example):
    d = derived(example.key)
    document = json.loads(json.dumps(d.to_dict()))
    assert errors(document) == []
    assert document["schema"] == 1 and document["chain_rule"] == d.rule and document["layout"] == d.layout
    assert [s["kind"] for s in document["steps"]] == d.kinds
    assert [s["rule"] for s in document["steps"]] == [s.rule for s in d.steps]


def test_json_sides_as_latex_and_srepr():
    document = derive("sin(x**2)").to_dict()
    sin_step = document["steps"][3]
    assert sin_step["rule"] == "sin"
    assert sin_step["lhs"]["latex"] == r"\frac{d y}{d u_{1}}"
    assert sin_step["rhs"] == {"latex": r"\cos{\left(u_{1} \right)}",
                               "srepr": "cos(Symbol('u1', real=True))", "text": "cos(u1)"}
    vector = derived("ex12_dot").to_dict()
    assert vector["result"]["latex"] == r"\mathbf{x}^{T}"
    assert vector["shapes"] == {"w": "n", "x": "n"}


def test_schema_validator_rejects_broken_documents():
    good = derive("x + x**2").to_dict()
    broken = copy.deepcopy(good)
    broken["schema"] = 2
    del broken["steps"][0]["rule"]
    broken["steps"][1]["kind"] = "guess"
    broken["extra"] = True
    broken["steps"][2]["rhs"]["latex"] = 3
    assert sorted(errors(broken)) == sorted([
        "$.schema: expected 1",
        "$.steps[0]: missing 'rule'",
        "$.steps[1].kind: 'guess' is not one of ['introduce', 'differentiate', 'combine', 'substitute', 'simplify', "
        "'gradient']",
        "$: unexpected 'extra'",
        "$.steps[2].rhs.latex: expected string, got int",
    ])
    assert SCHEMA["properties"]["schema"] == {"const": 1}


@pytest.mark.parametrize("example", ALL, ids=lambda e: e.key)
def test_markdown_has_a_heading_per_block_and_balanced_math(example):
    d = derived(example.key)
    markdown = d.to_markdown()
    headings = re.findall(r"^### \d+\. (.+?)(?: \(by .+\))?$", markdown, flags=re.M)
    expected_blocks = [k for i, k in enumerate(d.kinds) if i == 0 or k != d.kinds[i - 1]
                       or d.steps[i].wrt != d.steps[i - 1].wrt]
    assert len(headings) == len(expected_blocks)
    assert markdown.count("$$") % 2 == 0
    in_result = 1 if len(d.gradients) > 1 else 0  # several gradients: one aligned row each
    assert markdown.count(r"\begin{aligned}") == markdown.count(r"\end{aligned}") == len(expected_blocks) + in_result
    assert "### Result" in markdown and r"\boxed{" in markdown
    assert r"\begin{align*}" not in markdown


def test_markdown_of_example_1():
    markdown = derive("sin(x**2)").to_markdown()
    assert markdown.startswith("## Derivative of `sin(x**2)` by $x$\n")
    assert "### 3. Combine with the chain rule (by $x$)\n\n$$\n\\begin{aligned}\n" in markdown
    assert r"\frac{d y}{d x} &= \frac{d y}{d u_{1}} \frac{d u_{1}}{d x} = 2 x \cos{\left(u_{1} \right)}" in markdown
    assert "$$\n\\boxed{\\frac{d y}{d x} = 2 x \\cos{\\left(x^{2} \\right)}}\n$$" in markdown


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.problems = [], []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(tag)


@pytest.mark.parametrize("key", ["ex01_sin_square", "ex13_neuron", "ex17_two_layer_net"])
def test_notebook_reprs_are_renderable(key):
    d = derived(key)
    html = d._repr_html_()
    parser = _Tags()
    parser.feed(html)
    assert parser.problems == [] and parser.stack == []
    assert "<" not in re.sub(r"</?[a-z0-9]+[^>]*>", "", html)  # every < in the math is escaped
    assert html.count("$$") % 2 == 0 and "<h5>Result</h5>" in html
    assert d._repr_markdown_() == d.to_markdown()
    latex = d._repr_latex_()
    assert latex.startswith("$$\n\\begin{aligned}") and latex.endswith("\\end{aligned}\n$$")


@needs_engine
def test_notebook_latex_compiles(tmp_path):
    from matcalc_sym.render.latex import PREAMBLE

    for key in ("ex07_gradient", "ex16_rnn_cell"):
        compile_latex(PREAMBLE + "\\begin{document}\n" + derived(key)._repr_latex_() + "\n\\end{document}\n",
                      tmp_path, key)


def test_markdown_notes_are_separate_paragraphs():
    """Consecutive quoted lines join into one paragraph in Markdown; each note must stand alone."""
    from matcalc_sym import derive

    d = derive("L = -sum(y*log(softmax(W@x + b)))", "W", shapes={"W": "k,n", "x": "n", "b": "k", "y": "k"})
    assert len(d.notes) >= 2
    lines = d.to_markdown().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("> **Note:**")]
    assert len(starts) == len(d.notes)
    assert all(lines[i - 1] == "" for i in starts)
