"""What the page shows, computed from the existing renderers (there is no second derivation path).

`page_document(d)` is the schema-1 JSON document (`d.to_dict()`) with a
`page` object beside it: the LaTeX renderer's line for each step (the same
`step_line` as `to_latex`, its rule column moved out so the page can show the
rule beside the line), the steps grouped into the terminal's blocks, the
boxed result, the DAG as SVG, and optionally the other output formats for the
copy and download buttons. The browser only lays this out with KaTeX.
"""

from __future__ import annotations

from typing import Any

import sympy

from ..errors import MatcalcError
from ..render.graph import path_summary
from ..render.latex import printer_for, result_math, step_line
from ..render.terminal import TITLES, _result_lhs, groups
from .dag import dag_svg


def _math_of(step, printer) -> str:
    """The step's equation as the LaTeX renderer writes it, without its `&& \\text{rule}` column."""
    line = step_line(step, printer)
    math, _, _ = line.rpartition(" && ")
    return r"\begin{aligned}" + math + r"\end{aligned}"


def page_view(derivation) -> dict[str, Any]:
    """The layout data: header, one block per run of steps of one kind, the result, the graph."""
    printer = printer_for(derivation)
    index = {id(step): number for number, step in enumerate(derivation.steps)}
    blocks = []
    for number, (kind, wrt, steps) in enumerate(groups(derivation.steps), start=1):
        blocks.append({
            "number": number, "kind": kind, "title": TITLES[kind],
            "wrt": wrt if kind != "introduce" else None,
            "wrt_latex": printer.doprint(sympy.Symbol(wrt)) if wrt and kind != "introduce" else None,
            "steps": [{"index": index[id(step)], "latex": _math_of(step, printer), "rule": step.rule,
                       "shapes": dict(step.shapes),
                       "explanation": step.explanation if kind == "combine" else None} for step in steps],
        })
    flow = derivation.dataflow
    return {
        "wrt_latex": ", ".join(printer.doprint(sympy.Symbol(name)) for name in derivation.wrt),
        "equation_latex": f"{printer.doprint(sympy.Symbol(derivation.output))} = "
                          f"{printer.doprint(derivation.expression)}",
        "want_latex": printer.doprint(_result_lhs(derivation)),
        "blocks": blocks,
        "result_latex": r"\boxed{" + result_math(derivation) + "}",
        "graph_svg": dag_svg(derivation),
        "graphs": [{"wrt": name, "svg": dag_svg(derivation, name)} for name in derivation.wrt[1:]],
        "paths": [path_summary(derivation, name) for name in derivation.wrt] if flow is not None else [],
        "reports": _reports(derivation),
    }


def _reports(derivation) -> list[dict[str, Any]]:
    """The lines the command prints after the result (--check, --answer), with whether each is good news."""
    reports = []
    if derivation.check is not None:
        reports.append({"kind": "check", "good": derivation.check.passed, "line": derivation.check.line()})
    if derivation.answer is not None:
        reports.append({"kind": "answer", "good": derivation.answer.correct, "line": derivation.answer.line()})
    return reports


def formats(derivation) -> dict[str, str | None]:
    """The other renderers' output, for the copy and download buttons (NumPy may be refused: then None)."""
    try:
        numpy_code: str | None = derivation.to_numpy()
        numpy_error = None
    except MatcalcError as exc:
        numpy_code, numpy_error = None, " ".join(str(exc).split())
    return {"latex": derivation.to_latex(standalone=True), "markdown": derivation.to_markdown(),
            "numpy": numpy_code, "numpy_error": numpy_error}


def page_document(derivation, with_formats: bool = True) -> dict[str, Any]:
    """The schema-1 document with the page's layout (and the other formats) beside it."""
    document = derivation.to_dict()
    document["page"] = page_view(derivation)
    if with_formats:
        document["formats"] = formats(derivation)
    return document
