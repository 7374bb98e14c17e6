"""Issue 18 §4: LaTeX that fits the page, and notes written as prose.

Every derivation of the gallery (docs/build.py PAGES), of the worked-example lists in
tests/test_*.py (WORKED_EXAMPLES) and of the DESIGN examples (tests/examples.py) is set by
pdflatex in one document, and the log must report no overfull line: a long equation is broken
over aligned rows (`matcalc_sym.render.linebreak`). Layer norm overflowed by 287 pt before.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path

import pytest
import sympy

from matcalc_sym import derive
from matcalc_sym.render.latex import PREAMBLE, shape_words, step_note
from matcalc_sym.render.linebreak import break_math, width, words
from tests.latex_engine import compile_latex, needs_engine

ROOT = Path(__file__).resolve().parent.parent


def _gallery() -> list[tuple]:
    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_build"] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return [(page.filename, e.text, e.wrt, e.shapes, tuple(str(ROOT / r) for r in e.rules), e.second)
            for page in module.PAGES for e in page.entries]


def _worked_examples() -> list[tuple]:
    cases = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if "\nWORKED_EXAMPLES = [" not in path.read_text(encoding="utf-8"):
            continue
        module = importlib.import_module(f"tests.{path.stem}")
        rules = tuple(str(ROOT / r) for r in getattr(module, "WORKED_EXAMPLES_RULES", ()))
        second = getattr(module, "kind_of", lambda wrt, shapes: None)
        cases += [(f"{path.stem}: {title}", text, wrt, shapes, rules, second(wrt, shapes))
                  for title, text, wrt, shapes in module.WORKED_EXAMPLES]
    return cases


def _design_examples() -> list[tuple]:
    from tests.examples import ALL

    return [(example.key, example.text, example.wrt, example.shapes, (), None) for example in ALL]


def every_derivation() -> list[tuple]:
    """Each distinct derivation once (the gallery's later pages are the tests' worked examples)."""
    seen, cases = set(), []
    for case in _gallery() + _worked_examples() + _design_examples():
        key = (case[1], case[2], tuple(sorted(case[3].items())), case[4], case[5])
        if key not in seen:
            seen.add(key)
            cases.append(case)
    return cases


def overfull_lines(log: str) -> list[float]:
    return [float(points) for points in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


@needs_engine
def test_no_derivation_of_the_gallery_or_the_examples_has_an_overfull_line(tmp_path):
    cases = every_derivation()
    assert len(cases) >= 80  # the gallery, six worked-example lists and the DESIGN examples
    bodies = []
    for title, text, wrt, shapes, rules, second in cases:
        d = derive(text, wrt, shapes=shapes, rules=rules, **({second: True} if second else {}))
        bodies.append(f"% {re.sub(r'[^ -~]', '?', title)}\n" + d.to_latex(standalone=False))
    source = PREAMBLE + "\\begin{document}\n" + "\n\\clearpage\n".join(bodies) + "\\end{document}\n"
    log = compile_latex(source, tmp_path, "gallery")
    assert overfull_lines(log) == [], [line for line in log.splitlines() if "Overfull" in line][:10]


@needs_engine
def test_layer_norm_alone_fits_the_page(tmp_path):
    """The issue's case: layer norm over each row of a batch, by X, which overflowed by 287 pt."""
    text = "y = gamma*(X - mean(X, axis=1, keepdims=True))/sqrt(var(X, axis=1, keepdims=True) + 1e-5) + beta"
    d = derive(text, "X", shapes={"X": "N,n", "gamma": "n", "beta": "n"})
    latex = d.to_latex(standalone=True)
    assert r"&\quad " in latex  # it is long: broken into continued rows
    assert overfull_lines(compile_latex(latex, tmp_path, "layernorm")) == []


@needs_engine
def test_the_breaking_itself_is_needed(tmp_path):
    """Without breaking, the same long line overflows: the test above can fail."""
    d = derive("y = gamma*(X - mean(X, axis=1, keepdims=True))/sqrt(var(X, axis=1, keepdims=True) + 1e-5) + beta",
               "X", shapes={"X": "N,n", "gamma": "n", "beta": "n"})
    from matcalc_sym.render.latex import printer_for

    line = printer_for(d).doprint(d.result)
    source = PREAMBLE + "\\begin{document}\n\\begin{align*}x &= " + line + "\\end{align*}\n\\end{document}\n"
    assert max(overfull_lines(compile_latex(source, tmp_path, "unbroken"))) > 100


def test_a_short_equation_stays_on_one_line():
    assert break_math(r"2 \mathbf{x}^{T}", 40) == [r"2 \mathbf{x}^{T}"]
    d = derive("sin(x**2)")
    assert r"\frac{d u_{1}}{d x} &= 2 x && \text{power}" in d.to_latex()


def test_a_long_sum_breaks_before_its_operators():
    terms = " + ".join(rf"\mathrm{{A}}_{{{i}}} \mathbf{{x}}" for i in range(12))
    pieces = break_math(terms, 30)
    assert len(pieces) > 1
    assert all(width(piece) <= 30 for piece in pieces)
    assert all(piece.startswith("+ ") for piece in pieces[1:])
    assert " ".join(pieces) == terms  # nothing lost or added


def test_a_wide_bracket_opens_into_sized_delimiters_that_may_span_rows():
    inner = " + ".join(rf"\mathrm{{W}}_{{{i}}}" for i in range(20))
    pieces = break_math(rf"\left({inner}\right) \mathbf{{x}}^{{T}}", 30)
    joined = " ".join(pieces)
    assert r"\left" not in joined and r"\bigl(" in joined and r"\bigr)" in joined
    assert all(width(piece) <= 31 for piece in pieces)


def test_a_wide_fraction_is_written_as_a_reciprocal_times_its_numerator():
    numerator = " + ".join(rf"\mathrm{{W}}_{{{i}}}" for i in range(20))
    pieces = break_math(rf"\frac{{{numerator}}}{{n}}", 30)
    assert pieces[0].startswith(r"\frac{1}{n} \bigl(")
    assert len(pieces) > 1


def test_words_split_only_at_the_top_level():
    assert words(r"2 \left(a + b\right) \frac{x y}{z}") == ["2", r"\left(a + b\right)", r"\frac{x y}{z}"]


# -- §5: notes are prose, not equations ------------------------------------------------------------------

EQUATION = re.compile(r"^[^\s=]+ = [^=]+$")


def test_shape_notes_are_words():
    assert shape_words("1", "1 = sqrt(1)") == "a scalar"
    assert shape_words("1", "1 = (1)/(3*n)") == "a scalar"
    assert shape_words("1", "1 = sum(n×3)") == "a scalar, from sum(n×3)"
    assert shape_words("n×5", "n×5 = (n×3)@(3×5)") == "shape n×5, from (n×3)@(3×5)"
    assert shape_words("n", "n = (n) + (1)") == "shape n, from (n) + (1)"


@pytest.mark.parametrize(("text", "wrt", "shapes"), [
    ("mu = mean(x); v = mean((x - mu)**2); y = gamma*(x - mu)/sqrt(v + eps) + beta; L = sum(g*y)", "gamma",
     {"x": "n", "gamma": "n", "beta": "n", "g": "n"}),
    ("Zh = X@Wh.T + bh; Ah = tanh(Zh); Zo = Ah@Wout.T + bout; Ao = tanh(Zo); L = sum((Ao - Y)**2)/(3*n)", "Wout",
     {"X": "n,3", "Wh": "5,3", "bh": "5", "Wout": "3,5", "bout": "3", "Y": "n,3"}),
    ("sqrt(sum(x**2)) + 1", "x", {"x": "n"}),
])
def test_no_note_is_a_bare_equation(text, wrt, shapes):
    d = derive(text, wrt, shapes=shapes)
    notes = [step_note(step) for step in d.steps] + list(d.notes)
    assert notes
    for note in notes:
        for part in note.split("; "):
            assert not EQUATION.match(part), f"a note reads as an equation: {part!r}"
    latex = d.to_latex(standalone=True)
    assert "1 = sqrt(1)" not in latex and "= (n" not in latex
    introduce = [step_note(s) for s in d.steps if s.kind == "introduce"]
    assert any("shape " in n or "a scalar" in n for n in introduce)
    assert d.to_markdown().count("$$") >= 2 and isinstance(sympy.srepr(d.result), str)


# -- a long factor inside a function's braces: rows must never end inside a group --------------------

_LONG_SUM = " + ".join(f"y{i}*x" for i in range(25))


@needs_engine
@pytest.mark.parametrize("text", [f"sin({_LONG_SUM})", f"exp({_LONG_SUM})*log({_LONG_SUM})",
                                  f"tanh({_LONG_SUM})**2", f"sqrt(1 + ({_LONG_SUM})**2)",
                                  f"x**({_LONG_SUM})"], ids=["sin", "exp-log", "tanh-squared", "sqrt", "power"])
def test_a_wide_function_argument_is_broken_where_tex_can_set_it(tmp_path, text):
    """SymPy prints sin(u) as \\sin{\\left(u\\right)}: opening those brackets at the row ends left the
    function's braces open across rows, and pdflatex stopped ("Missing } inserted")."""
    d = derive(text, "x")
    compile_latex(d.to_latex(standalone=True), tmp_path, "wide")


def test_an_opened_function_argument_drops_its_braces_and_scripts_stay_whole():
    inner = " + ".join(rf"x y_{{{i}}}" for i in range(30))
    pieces = break_math(rf"\sin{{\left({inner} \right)}}", 40)
    assert pieces[0].startswith(r"\sin\bigl(") and pieces[-1].endswith(r"\bigr)")
    pieces = break_math(rf"e^{{\left({inner} \right)}}", 40)
    assert pieces == [rf"e^{{\left({inner} \right)}}"]  # a superscript cannot span rows


@pytest.mark.parametrize("seed", range(200))
def test_every_row_break_math_returns_can_end_a_tex_row(seed):
    """Random printer-like LaTeX, broken at random widths: no row leaves a group or a \\left open."""
    import random

    from tests.test_linebreak_cost import latex_text

    rng = random.Random(seed)
    text = " + ".join(latex_text(rng, lone_brackets=False) for _ in range(rng.randint(1, 6)))
    for row in break_math(text, rng.choice([8.0, 20.0, 40.0])):
        depth = 0
        for char_index, char in enumerate(row):
            if char in "{}" and (char_index == 0 or row[char_index - 1] != "\\"):
                depth += 1 if char == "{" else -1
                assert depth >= 0, row
        assert depth == 0, row
        assert row.count(r"\left") == row.count(r"\right"), row


@needs_engine
def test_a_derivation_of_a_thousand_steps_compiles(tmp_path):
    """pdflatex holds one align* in its main memory: a block of a thousand steps exceeded it ("TeX
    capacity exceeded"), so blocks are set ALIGN_STEPS steps at a time."""
    from matcalc_sym.render.latex import ALIGN_STEPS

    terms = " + ".join(f"sin(x*{k})*cos(y + x**{k})*exp(x/{k})" for k in range(1, 90))
    d = derive(terms, "x")
    assert len(d.steps) > 5 * ALIGN_STEPS
    latex = d.to_latex(standalone=True)
    assert latex.count(r"\begin{align*}") > len(d.steps) // ALIGN_STEPS
    compile_latex(latex, tmp_path, "long")
