"""Jupyter: a `Derivation` displays itself (`_repr_latex_`, `_repr_markdown_`, `_repr_html_`).

Notebooks typeset `$$…$$` with MathJax, so every format here is the LaTeX
renderer's mathematics in a different wrapper. HTML is what a notebook shows
first; its math is left in `$$` for MathJax and its text escaped.
"""

from __future__ import annotations

import html

import sympy

from .latex import math_block, printer_for, result_math


def repr_latex(derivation) -> str:
    """The whole derivation as one display: titled rows of an `aligned` block."""
    rows = []
    for number, (title, wrt, lines) in enumerate(math_block(derivation), start=1):
        by = f" (by {wrt})" if wrt else ""
        rows.append(r"&\textbf{" + f"{number}. {title}{by}".replace("_", r"\_") + "}")
        rows += lines
    rows.append(r"&\textbf{Result}")
    rows.append(r"&\boxed{" + result_math(derivation) + "}")
    return "$$\n\\begin{aligned}\n" + "\\\\\n".join(rows) + "\n\\end{aligned}\n$$"


def repr_html(derivation) -> str:
    """HTML with headings per block and MathJax display math."""
    printer = printer_for(derivation)
    output = printer.doprint(sympy.Symbol(derivation.output))
    parts = [
        '<div class="matcalc-derivation">',
        f"<h4>Derivative of <code>{html.escape(' '.join(derivation.source.split()))}</code></h4>",
        f"<p>$${html.escape(output)} = {html.escape(printer.doprint(derivation.expression))}$$</p>",
        f"<p>Chain rule: <b>{html.escape(derivation.rule)}</b>; layout: <b>{html.escape(derivation.layout)}</b></p>",
    ]
    parts += [f"<p><i>Note:</i> {html.escape(note)}</p>" for note in derivation.notes]
    for number, (title, wrt, lines) in enumerate(math_block(derivation), start=1):
        by = f" (by {html.escape(wrt)})" if wrt else ""
        body = "\\\\\n".join(lines)
        parts.append(f"<h5>{number}. {html.escape(title)}{by}</h5>")
        parts.append(f"<p>$$\\begin{{aligned}}\n{html.escape(body)}\n\\end{{aligned}}$$</p>")
    parts.append("<h5>Result</h5>")
    parts.append(f"<p>$$\\boxed{{{html.escape(result_math(derivation))}}}$$</p>")
    parts.append("</div>")
    return "\n".join(parts)


