"""The pretty terminal format: golden text for every DESIGN example, width and NO_COLOR.

Golden files live in tests/golden/<example key>.txt. After an intended change
to the terminal layout, regenerate them and review the diff:

    MATCALC_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_terminal.py
"""

import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from matcalc_sym import derive
from tests.examples import ALL, derived

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("MATCALC_REGENERATE_GOLDEN") == "1"
COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)[0-9;]*m")


def render(derivation, width=80, **options) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, **options)
    console.print(derivation)
    return console.file.getvalue()


@pytest.mark.parametrize("example", ALL, ids=lambda e: e.key)
def test_pretty_output_matches_golden_text(example):
    text = render(derived(example.key))
    path = GOLDEN / f"{example.key}.txt"
    if REGENERATE:
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path.name}: run with MATCALC_REGENERATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_golden_example_1_reads_as_the_paper():
    lines = (GOLDEN / "ex01_sin_square.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "dy/dx  of  sin(x**2)"
    titles = [re.sub(r"[─╭╔═╗╮]", "", line).strip() for line in lines if line.startswith(("╭─", "╔═"))]
    assert titles == ["1. Introduce intermediate variables", "2. Differentiate each intermediate variable (by x)",
                      "3. Combine with the chain rule (by x)", "4. Substitute back (by x)", "Result"]
    assert any(line.rstrip("│ ").endswith("power") for line in lines)  # rule names at the right-hand side
    assert "║ ── = 2⋅x⋅cos⎝x ⎠" in "\n".join(lines)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_every_line_fits_the_terminal_width(width):
    for key in ("ex15_loss", "ex17_two_layer_net", "ex02_log_sin_cube"):
        lines = render(derived(key), width=width).splitlines()
        assert max(len(line) for line in lines) <= width


def test_long_expressions_wrap_instead_of_overflowing():
    narrow = render(derived("ex15_loss"), width=60)
    assert "↪" in narrow  # SymPy's continuation mark, inside the panel
    assert all(line.startswith(("│", "╭", "╰", "║", "╔", "╚")) for line in narrow.splitlines()[2:])


def test_colour_on_a_terminal_and_none_with_no_color(monkeypatch):
    d = derive("sin(x**2)")
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = io.StringIO()
    Console(file=coloured, width=80, force_terminal=True, color_system="standard").print(d)
    assert COLOUR.search(coloured.getvalue())
    monkeypatch.setenv("NO_COLOR", "1")
    plain = io.StringIO()
    Console(file=plain, width=80, force_terminal=True, color_system="standard").print(d)
    assert not COLOUR.search(plain.getvalue())
    assert "2⋅x⋅cos" in plain.getvalue()


def test_a_negative_matrix_term_prints_after_a_binary_minus():
    """I − (1/n)·𝟙𝟙ᵀ, not I -1/n·𝟙𝟙ᵀ (which reads as a product); the positive term first."""
    from matcalc_sym import derive

    d = derive("x - mean(x)", "x", shapes={"x": "n"})
    lines = d.to_text(width=80).splitlines()
    start = next(i for i, line in enumerate(lines) if "Result" in line)
    assert [line.strip("║ ").rstrip() for line in lines[start + 1:start + 4]] == [
        "dy       1", "── = 𝕀 - ─⋅𝟙⋅𝟙ᵀ", "dx       n"]
    assert r"= \mathrm{I} - \frac{1}{n} \left(\mathbb{1} \mathbb{1}^{T}\right)}" in d.to_latex()
