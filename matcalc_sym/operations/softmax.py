"""softmax(z, axis=None): exp(z) / Σ exp(z), over all entries or along an axis (each row for axis=1).

The default is SciPy's (`scipy.special.softmax`): over every entry, which for
a vector is the usual softmax; `axis=1` makes it row-wise, as attention uses
it. Its Jacobian is diag(s) − s sᵀ, and backprop never forms it: the
vector-Jacobian product is s ⊙ (G − Σ s ⊙ G), the sum over the same entries.

Cross-entropy against a target y ends at s·Σy − y (the tool cannot know that
Σy = 1); `cross_entropy_notes` reads that off a finished result and says it
is the classic s − y for a one-hot or probability target, per row for
axis=1. The helpers here (`stored_axis`, `axis_words`, `group_sum`) serve
log_softmax and logsumexp too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy

from ..arrays import Diag, Elementwise, Ones, ReduceSum, element_of
from .calls import ArrayCall
from .reductions import normalized_axis
from .registry import Operation, register

if TYPE_CHECKING:
    from ..expr import Node
    from ..graph import IntermediateGraph


def stored_axis(operand_shape: tuple, params: dict, name: str) -> int | None:
    """The axis on the stored (2-D) array: a vector has one group whatever axis names it."""
    axis = normalized_axis(operand_shape, params.get("axis"), name)
    return None if len(operand_shape) < 2 else axis


def axis_words(node: Node) -> str:
    """Which entries one application normalizes (or combines), in words, for its step."""
    shape = node.args[0].shape
    if len(shape) < 2:
        return f"over the {shape[0]} entries of the vector" if shape else "of one number"
    axis = stored_axis(shape, dict(node.value or ()), node.op)
    rows, cols = shape
    if axis is None:
        return f"over all {rows}·{cols} entries at once (no axis given)"
    if axis == 1:
        return f"row-wise (axis=1): over each of the {rows} rows, {cols} entries each"
    return f"column-wise (axis=0): down each of the {cols} columns, {rows} entries each"


def _shape(arg_shapes, params):
    stored_axis(arg_shapes[0], params, "softmax")  # refuses an axis out of range
    return arg_shapes[0]


def _build(args, arg_shapes, shape, params):
    (arg,) = args
    if not isinstance(arg, sympy.MatrixExpr):
        return sympy.Integer(1)  # the softmax of one number is 1
    return ArrayCall("softmax", [arg], {"axis": stored_axis(arg_shapes[0], params, "softmax")}, *arg.shape)


def _value(np, values, expr):
    axis = expr.params["axis"]
    shifted = np.exp(values[0] - np.max(values[0], axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _explicit(values, expr):
    matrix, axis = values[0], expr.params["axis"]
    exps = matrix.applyfunc(sympy.exp)
    if axis is None:
        return exps / sum(exps)
    if axis == 1:
        return sympy.Matrix(exps.rows, exps.cols, lambda i, j: exps[i, j] / sum(exps.row(i)))
    return sympy.Matrix(exps.rows, exps.cols, lambda i, j: exps[i, j] / sum(exps.col(j)))


def group_sum(array: sympy.MatrixExpr, axis: int | None) -> sympy.MatrixExpr:
    """Σ over each softmax group, broadcast back over it: an array of the group's total at every entry."""
    rows, cols = array.shape
    number, rest = element_of(array).as_coeff_Mul()
    if number.is_Number and number != 1:  # Σ(−y) = −Σy: a number comes out of the group's sum
        return sympy.MatMul(number, group_sum(Elementwise(rest, rows, cols), axis))
    if axis is None:
        return Elementwise(ReduceSum(array), rows, cols)
    if axis == 1:
        return sympy.MatMul(array, Ones(cols, 1), Ones(1, cols))
    return sympy.MatMul(Ones(rows, 1), Ones(1, rows), array)


def _vjp(c):
    """∂J/∂z = s ⊙ G − s ⊙ Σ_group s ⊙ G: s ⊙ (G − Σ s ⊙ G) multiplied out, so that when G divides by s
    (the adjoint of log s) each term cancels on its own and cross-entropy's s·Σy − y appears."""
    s, grad, axis = c.symbol_of[c.node], c.grad, _axis_of(c)
    weighted = Elementwise(element_of(s) * element_of(grad), *s.shape)
    return Elementwise(element_of(weighted) - element_of(s) * element_of(group_sum(weighted, axis)), *s.shape)


def _axis_of(c):
    return stored_axis(c.node.args[0].shape, dict(c.node.value or ()), "softmax")


def _jacobian(c):
    """∂s/∂z = diag(s) − s sᵀ (a vector z: forward mode)."""
    s = c.symbol_of[c.node]
    return sympy.MatAdd(Diag(s), sympy.MatMul(-1, s, sympy.Transpose(s)))


def _log_softmax_operand(node: Node) -> Node | None:
    """The softmax logits' node when `node` is log_softmax(z) or log(softmax(z)), else None."""
    if node.op == "log_softmax" or (node.op == "log" and len(node.args) == 1 and node.args[0].op == "softmax"):
        return node if node.op == "log_softmax" else node.args[0]
    return None


def _targets(graph: IntermediateGraph, wrt: set[str]) -> list[tuple[sympy.MatrixSymbol, Node]]:
    """(target symbol, the log-softmax or softmax node) for each input y in y ⊙ log softmax(z): cross-entropy."""
    found = []
    for node in graph.order:
        if node.op != "mul" or len(node.args) != 2:
            continue
        for target, other in (node.args, reversed(node.args)):
            normalized = _log_softmax_operand(other)
            if target.op == "var" and target.shape and target.value not in wrt and normalized is not None:
                found.append((graph.symbol_of[target], normalized))
    return found


def _unit_sums(expr: sympy.Basic, target: sympy.MatrixSymbol) -> sympy.Basic:
    """`expr` with every sum of the target's groups put to 1: sum(y) → 1, Y𝟙 → 𝟙 (rows), 𝟙ᵀY → 𝟙ᵀ (columns)."""
    from ..arrays import OneMatrix, flatten_elements, is_array

    rows, cols = target.shape

    def summed(a, b) -> bool:
        return (a == target and isinstance(b, OneMatrix)) or (isinstance(a, OneMatrix) and b == target)

    def arrays_of(e) -> list:
        return [a for a in e.args if is_array(a)]

    def unit(e):
        args, out = arrays_of(e), []
        while args:
            a = args.pop(0)
            if args and summed(a, args[0]):
                out.append(Ones(rows, 1) if a == target else Ones(1, cols))
                args.pop(0)
            else:
                out.append(a)
        scalars = [a for a in e.args if not is_array(a)]
        if all(isinstance(a, OneMatrix) for a in out):
            out = [Ones(out[0].shape[0], out[-1].shape[1])]
        return sympy.MatMul(*scalars, *out) if scalars or len(out) > 1 else out[0]

    def has_pair(e) -> bool:
        arrays = arrays_of(e)
        return any(summed(a, b) for a, b in zip(arrays, arrays[1:]))

    replaced = expr.xreplace({ReduceSum(target): sympy.Integer(1)})
    replaced = flatten_elements(replaced.replace(lambda e: isinstance(e, sympy.MatMul) and has_pair(e), unit))
    return replaced.replace(lambda e: isinstance(e, Elementwise),
                            lambda e: Elementwise(sympy.factor_terms(e.body), *e.shape))


def _classic_note(target: sympy.MatrixSymbol, normalized: Node, derivative: str, classic: sympy.Basic) -> str:
    """The note's words: which sums are put to 1 (the whole target, each row, each column), and the result."""
    from ..render.terminal import input_text

    y, where = str(target), axis_words(normalized)
    shape = normalized.args[0].shape
    axis = stored_axis(shape, dict(normalized.value or ()), normalized.op) if len(shape) == 2 else None
    if axis is None:
        sums = f"sum({y}) stays in the result because nothing says the target {y} sums to 1"
        premise = f"for a one-hot or probability target (sum({y}) = 1; the softmax is taken {where})"
        classic_name = f"s − {y}"
    else:
        line = "row" if axis == 1 else "column"
        ones = f"{y}·𝟙" if axis == 1 else f"𝟙ᵀ·{y}"
        sums = f"{ones} (the sum of each {line} of {y}) stays in the result because nothing says each {line} sums to 1"
        premise = f"for one-hot or probability {line}s of {y} (each sums to 1; the softmax is taken {where})"
        classic_name = f"s − y on every {line}"
    return (f"{sums}; {premise} this is the classic softmax cross-entropy gradient {classic_name}: "
            f"{derivative} = {input_text(classic)}")


def cross_entropy_notes(graph: IntermediateGraph, results: dict[str, sympy.Basic]) -> list[str]:
    """The classic s − y, read off a cross-entropy gradient that holds the target's sums.

    The tool cannot know that a target sums to 1, so its answer keeps sum(y)
    (s·sum(y) − y); this note puts the sums to 1 and says which sums they
    are, in words (the whole vector, or each row for axis=1).
    """
    from ..simplify import readable

    notes = []
    for name, result in results.items():
        for target, normalized in _targets(graph, set(results)):
            classic = _unit_sums(result, target)
            if classic == result:
                continue
            classic = readable(classic)
            notes.append(_classic_note(target, normalized, f"d{graph.output_symbol}/d{name}", classic))
    return notes


register(Operation(
    "softmax", keywords={"axis": None}, shape=_shape, build=_build,
    value=_value,
    code=lambda codes, expr, np: f"_softmax({codes[0]}, axis={expr.params['axis']!r})",
    explicit=_explicit,
    jacobians={"diag-minus-outer": _jacobian},
    vjps={"softmax-vjp": _vjp},
    detail=axis_words,
    notes=cross_entropy_notes,
))
