"""Markdown: a heading per block of steps and `$$…$$` math that GitHub and Jupyter render.

The mathematics is the LaTeX renderer's, inside `aligned` (MathJax and
GitHub's math both know it; `align*` is a document environment they may not).
"""

from __future__ import annotations

from .latex import expansion_parts, math_block, printer_for, result_math


def _inline(value: str) -> str:
    """Free text for Markdown: characters that start markup are escaped."""
    return "".join("\\" + c if c in "\\`*_[]<>#|$" else c for c in value)


def to_markdown(derivation) -> str:
    """The derivation as Markdown (headings, `$$` display math, the result last)."""
    import sympy

    from .terminal import _result_lhs

    printer = printer_for(derivation)
    wrt = ", ".join(printer.doprint(sympy.Symbol(name)) for name in derivation.wrt)
    source = " ".join(derivation.source.split()).replace("`", "'")
    lines = [
        f"## Derivative of `{source}` by ${wrt}$",
        "",
        f"$${printer.doprint(sympy.Symbol(derivation.output))} = {printer.doprint(derivation.expression)}$$",
        "",
        f"Chain rule: **{derivation.rule}**; layout: **{derivation.layout}** "
        f"(we want ${printer.doprint(_result_lhs(derivation))}$).",
    ]
    for note in derivation.notes:  # a blank line between notes: consecutive quoted lines join into one paragraph
        lines += ["", f"> **Note:** {_inline(note)}"]
    for number, (title, wrt_name, rows) in enumerate(math_block(derivation), start=1):
        by = f" (by ${printer.doprint(sympy.Symbol(wrt_name))}$)" if wrt_name else ""
        lines += ["", f"### {number}. {title}{by}", "", "$$", r"\begin{aligned}", "\\\\\n".join(rows),
                  r"\end{aligned}", "$$"]
    explanations = [s.explanation for s in derivation.steps if s.kind in ("combine", "gradient") and s.explanation]
    if explanations:
        lines += ["", "**Why:**", "", *[f"- {_inline(e)}" for e in dict.fromkeys(explanations)]]
    if derivation.expansion is not None:
        lines += _expansion(derivation, printer)
    lines += ["", "### Result", "", "$$", rf"\boxed{{{result_math(derivation)}}}", "$$", ""]
    if derivation.answer is not None:  # --answer: the student's text and what the comparison found
        answer = derivation.answer.answer.replace("`", "'")
        lines += [f"**Your answer** `{answer}`: {_inline(derivation.answer.line())}", ""]
    return "\n".join(lines)


def _expansion(derivation, printer) -> list[str]:
    """The element-wise check: a sentence per variable, its matrices in `$$`, the verdict in bold."""
    title, blocks, verdict = expansion_parts(derivation, printer)
    lines = ["", f"### {title}"]
    for sentence, rows in blocks:
        lines += ["", _inline(sentence)]
        if rows:
            lines += ["", "$$", r"\begin{aligned}", "\\\\\n".join(rows), r"\end{aligned}", "$$"]
    return lines + ["", f"**{_inline(verdict)}**"]
