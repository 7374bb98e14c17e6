"""JSON: `to_dict()` of steps and derivations, schema version 1 (see README)."""

from __future__ import annotations

from functools import partial
from typing import Any

import sympy
from sympy.printing.repr import ReprPrinter
from sympy.printing.str import StrPrinter

from .printable import PrintsEachOnce, str_matmul
from .terminal import COMPACT_STEPS

SCHEMA_VERSION = 1


class _Text(PrintsEachOnce, StrPrinter):
    """`sympy.sstr`, each distinct subexpression printed once: the substitute steps of a long
    derivation repeat their predecessors' trees, which made the JSON quadratic (18 s for 200 steps)."""

    def _print_MatMul(self, expr):
        return str_matmul(self, expr)


class _Repr(PrintsEachOnce, ReprPrinter):
    """`sympy.srepr`, each distinct subexpression printed once."""


def expression_to_dict(expr: sympy.Basic | None, printer=None, plain: tuple | None = None) -> dict[str, str] | None:
    """One expression three ways: LaTeX (the paper's notation), SymPy's srepr, and plain text.

    `plain` is a (srepr, text) pair of printers shared by one document.
    """
    if expr is None:
        return None
    latex = printer.doprint(expr) if printer is not None else sympy.latex(expr)
    if plain is None:
        return {"latex": latex, "srepr": sympy.srepr(expr), "text": sympy.sstr(expr)}
    srepr, text = plain
    return {"latex": latex, "srepr": srepr.doprint(expr), "text": text.doprint(expr)}


def step_to_dict(step, printer=None, plain: tuple | None = None) -> dict[str, Any]:
    if printer is None:
        from .latex import printer_for

        printer = printer_for()
    expression_dict = partial(expression_to_dict, printer=printer.for_steps(), plain=plain)
    inner = {"steps": [step_to_dict(s, printer, plain) for s in step.inner]} if step.inner else {}
    return {
        "kind": step.kind,
        "rule": step.rule,
        "explanation": step.explanation,
        "wrt": step.wrt,
        "lhs": expression_dict(step.lhs),
        "formula": expression_dict(step.formula),
        "rhs": expression_dict(step.rhs),
        "shapes": dict(step.shapes),
        **inner,
    }


def derivation_to_dict(derivation) -> dict[str, Any]:
    from .latex import printer_for

    printer = printer_for(derivation)
    # a long derivation keeps its sums in build order in its text and srepr too, as in its LaTeX
    # (printer_for): SymPy's sorting of terms was most of the JSON of 3200 nodes
    settings = {"order": "none"} if len(derivation.steps) > COMPACT_STEPS else None
    plain = (_Repr(settings), _Text(settings))
    expression_to_dict = partial(_expression, printer=printer, plain=plain)
    return {
        "schema": SCHEMA_VERSION,
        "input": derivation.source,
        "output": derivation.output,
        "wrt": list(derivation.wrt),
        "shapes": dict(derivation.shapes),
        "layout": derivation.layout,
        "chain_rule": derivation.rule,
        "expression": expression_to_dict(derivation.expression),
        "result": expression_to_dict(derivation.result),
        "notes": list(derivation.notes),
        "steps": [step_to_dict(step, printer, plain) for step in derivation.steps],
        "expansion": _expansion_to_dict(derivation.expansion),
        "gradients": {name: expression_to_dict(g) for name, g in derivation.gradients.items()},
        "check": derivation.check.to_dict() if derivation.check is not None else None,
        "answer": derivation.answer.to_dict() if derivation.answer is not None else None,
        **_second_to_dict(derivation.second, expression_to_dict),
    }


def _second_to_dict(second, expression_to_dict) -> dict[str, Any]:
    """A second derivative's own fields (within schema 1: absent from first derivatives)."""
    if second is None:
        return {}
    return {"second": {"kind": second.kind, "gradient": expression_to_dict(second.gradient),
                       "gradient_text": second.gradient_text, "direction": second.direction,
                       "result_text": second.result_text, "hessian_entries": second.hessian_entries}}


_expression = expression_to_dict


def _expansion_to_dict(expansion) -> dict[str, Any] | None:
    """The element-wise check; `blocks` (one per wrt variable) and `upstream` were added within schema 1."""
    if expansion is None:
        return None
    return {
        "size": expansion.size,
        "components": expression_to_dict(expansion.components),
        "jacobian": expression_to_dict(expansion.jacobian),
        "vector_result": expression_to_dict(expansion.vector_result),
        "equal": expansion.equal,
        "upstream": expansion.upstream,
        "blocks": [_block_to_dict(block) for block in expansion.blocks],
    }


def _block_to_dict(block) -> dict[str, Any]:
    return {
        "wrt": block.wrt,
        "compared": block.compared,
        "jacobian": expression_to_dict(block.jacobian),
        "vector_result": expression_to_dict(block.vector_result),
        "equal": block.equal,
    }
