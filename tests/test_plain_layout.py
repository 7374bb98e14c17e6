"""Plain text without rich (render/plain.py) prints what rich prints for the same blocks.

`--format text` no longer imports rich (a tenth of the command's start-up
beyond SymPy); the terminal still draws with rich. These tests hold the two
layouts to the same characters, on every DESIGN example, long and narrow
cases, and on wrapping by itself.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest

from examples import ALL
from matcalc_sym import derive
from matcalc_sym.render import plain
from matcalc_sym.render.terminal import renderables

WORKED_EXAMPLES = [
    ("a wide derivation folded at 40 columns", "log(sin(x**3)**2) + exp(x*y)*tanh(y)", "x,y", {}),
    ("a two-layer network, every weight", "h = tanh(W1@x); J = sum((W2@h - t)**2)", "W1,W2",
     {"W1": "n,n", "W2": "n,n", "x": "n", "t": "n"}),
    ("a note and an element-wise check", "sum(softmax(z) * y)", "z", {"z": "n", "y": "n"}),
]


def rich_text(derivation, width: int) -> str:
    """What `to_text` printed through rich before: the same blocks, rich's layout, no colour."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False,
                      highlight=False)
    for item in renderables(derivation, width):
        console.print(item)
    return buffer.getvalue()


@pytest.mark.parametrize("example", ALL, ids=lambda e: e.key)
@pytest.mark.parametrize("width", [100, 44])
def test_design_examples_match_rich(example, width):
    derivation = derive(example.text, example.wrt, shapes=example.shapes)
    assert derivation.to_text(width=width) == rich_text(derivation, width)


@pytest.mark.parametrize("title, text, wrt, shapes", WORKED_EXAMPLES, ids=[w[0] for w in WORKED_EXAMPLES])
def test_worked_examples_match_rich_in_every_format(title, text, wrt, shapes):
    derivation = derive(text, wrt, shapes=shapes, check=True, expand=2)
    assert derivation.check.passed
    for width in (100, 40):
        assert derivation.to_text(width=width) == rich_text(derivation, width)
    assert "Result" in derivation.to_text()
    assert derivation.to_latex(standalone=True).startswith("\\documentclass")
    assert derivation.to_markdown()
    assert derivation.to_dict()["result"]
    namespace: dict = {}
    exec(compile(derivation.to_numpy(), "<export>", "exec"), namespace)  # noqa: S102 - our own generated module
    assert callable(namespace["f_and_grad"])


def test_long_derivation_matches_rich():
    """More than COMPACT_STEPS steps: one laid-out line per step, cropped and padded the same way."""
    terms = " + ".join(f"sin(x**{k})*cos(y*{k})" for k in range(1, 30))
    derivation = derive(terms, "x,y")
    assert len(derivation.steps) > 200
    assert derivation.to_text() == rich_text(derivation, 100)


@pytest.mark.parametrize("seed", range(20))
def test_wrapping_matches_rich(seed):
    from rich.text import Text

    rng = random.Random(seed)
    alphabet = ["a", "bb", "ccc", " ", "  ", "∂J", "⊙", "宽字", "x̂", "-", "word" * rng.randint(1, 12)]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
    width = rng.randint(4, 30)
    from rich.console import Console

    console = Console(width=width, color_system=None, file=io.StringIO())
    expected = [line.plain for line in Text(text).wrap(console, width)]
    assert plain.wrap(text, width) == expected


def test_text_format_never_imports_rich():
    """`derive --format text` and `--format json` run without rich loaded, in the command and its worker."""
    probe = ("import sys, matcalc_sym.cli as c\n"
             "for fmt in ('text', 'json'):\n"
             "    try:\n"
             "        c.main(['sin(x**2)', '-f', fmt])\n"
             "    except SystemExit as e:\n"
             "        assert e.code == 0, e.code\n"
             "from matcalc_sym import derive\n"
             "d = derive('sin(x**2)', timeout=None)\n"
             "assert 'Result' in d.to_text() and str(d) == d.to_text()\n"
             "print('rich' in sys.modules, sorted(m for m in sys.modules if m.startswith('rich')))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False []"
    assert "Result" in done.stdout


def styled_cells(renderables, width: int) -> list[list[tuple[str, object]]]:
    """Every cell a console draws, line by line, as (character, style): what the terminal shows, whatever
    the segments that carried it."""
    from rich.console import Console
    from rich.style import Style

    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor",
                      legacy_windows=False)
    lines: list[list[tuple[str, object]]] = [[]]
    for item in renderables:
        for segment in console.render(item, console.options):
            style = segment.style or Style.null()
            for number, piece in enumerate(segment.text.split("\n")):
                if number:
                    lines.append([])
                lines[-1].extend((char, style) for char in piece)
    return lines


@pytest.mark.parametrize("width", [100, 44, 12])
@pytest.mark.parametrize("text, wrt, shapes, options", [
    ("w*x", "w", {}, {}),
    ("log(sin(x**3)**2) + exp(x*y)*tanh(y)", "x,y", {}, {"check": True}),
    ("h = tanh(W1@x); J = sum((W2@h - t)**2)", "W1,W2", {"W1": "n,n", "W2": "n,n", "x": "n", "t": "n"}, {}),
    ("sum(softmax(z) * y)", "z", {"z": "n", "y": "n"}, {"expand": 2}),
    ("exp(a_very_long_variable_name) + a_very_long_variable_name**2", "a_very_long_variable_name", {},
     {"answer": "2*a_very_long_variable_name"}),
], ids=["tiny", "checked", "network", "expanded", "wrong-answer"])
def test_terminal_draws_the_cells_and_styles_rich_lays_out(text, wrt, shapes, options, width):
    """The terminal draws the derivation from the plain layout (`drawn`), not rich's panels: every cell,
    character and style (borders, titles, rule names, the bold result, the check line), is what rich's own
    layout of the same blocks draws."""
    from rich.console import Console

    from matcalc_sym.render.terminal import drawn

    derivation = derive(text, wrt, shapes=shapes, **options)
    options_at = Console(width=width, file=io.StringIO(), force_terminal=True, legacy_windows=False).options
    fast = drawn(derivation, options_at)
    assert len(fast) == 1 and type(fast[0]).__name__ == "LaidOutLines"
    assert styled_cells(fast, width) == styled_cells(renderables(derivation, width), width)


def test_a_terminal_without_box_characters_gets_richs_layout():
    """An ASCII-only console cannot draw ╭─╮: rich's panels substitute the box, so they draw it there."""
    from rich.console import Console

    class AsciiTerminal(io.StringIO):
        encoding = "ascii"

    buffer = AsciiTerminal()
    Console(file=buffer, width=60, force_terminal=True, color_system=None, legacy_windows=False).print(
        derive("w*x", "w"))
    drawn_text = buffer.getvalue()
    assert "╭" not in drawn_text and "╔" not in drawn_text
    assert "+--" in drawn_text and "| Result |" not in drawn_text and "Result" in drawn_text
