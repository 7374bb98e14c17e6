"""Second derivatives: the same machinery applied to the gradient.

Stage 1 is the gradient's derivation, kept whole but shown as one collapsed
step. The gradient is then written in the input language (`inputtext`) and
parsed again by the project's own parser, and stage 2 differentiates that
text with the same rules, chain rules and simplifier as any input:

* scalar variables x, y, …: ∂f/∂xᵢ by xᵢ, xᵢ₊₁, … only (the upper triangle);
  the mixed partials are mirrored, since they are equal wherever they are
  continuous (Schwarz), and a step says so;
* one 1-D vector x: the Jacobian of the gradient in forward mode, which is
  the n×n Hessian (numerator layout: row i is ∂(∇f)ᵢ/∂xᵀ);
* a matrix X (or a vector, with `hvp=True`): never the Hessian, whose four
  indices hold (mn)² numbers, but the Hessian-vector product
  ∇²f(X)[V] = d/dt ∇f(X + tV)|₀ = ∇_X ⟨∇f(X), V⟩ (the Hessian is symmetric),
  one reverse-mode pass over the scalar sum(∇f(X) ⊙ V), shaped like X.

Writing the gradient as text also proves that what is printed can be pasted
back: the result is written the same way (`SecondOrder.result_text`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy
from sympy.core.symbol import Str

from .errors import DeriveError
from .graph import free_name
from .inputtext import NotWritable, input_text
from .shapes import show_math
from .steps import Derivation, Partial, Step

KINDS = ("hessian", "hvp")
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
#: names tried, in order, for the direction of a Hessian-vector product
DIRECTION_NAMES = ("V", "dX", "D", "V1", "V2", "V3")


@dataclass(frozen=True)
class SecondOrder:
    """What a second derivative adds to a `Derivation`.

    `kind` is "hessian" or "hvp"; `gradient` the stage-1 gradient (a column
    for a vector, shaped like a matrix variable) and `gradient_text` the same
    in the input language, which stage 2 differentiated; `direction` the
    name of V for a Hessian-vector product; `result_text` the result in the
    input language (None when it has no spelling there); `stage1` the
    gradient's whole derivation.
    """

    kind: str
    gradient: sympy.Basic
    gradient_text: str
    lhs: sympy.Basic
    direction: str | None = None
    result_text: str | None = None
    stage1: Any = None
    #: the entries a Hessian of the variable would have (the number the HVP avoids forming)
    hessian_entries: str | None = None


class SecondSymbol(sympy.Expr):
    """How the result is named: ∂²f/∂x∂xᵀ, ∂²f/∂(x, y)², ∇²f(X)[V]; printed as given, never rewritten."""

    is_commutative = False

    def __new__(cls, text, latex):
        # Str already when rebuilt from its args (a result returned from the time-limited worker)
        return sympy.Expr.__new__(cls, *(t if isinstance(t, Str) else Str(t) for t in (text, latex)))

    def _sympystr(self, printer) -> str:
        return self.args[0].name

    def _latex(self, printer, exp=None) -> str:
        return self.args[1].name

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        return prettyForm(self.args[0].name)

    def _eval_subs(self, old, new):
        return self


def derive_second(expression: str, wrt, shapes: Mapping[str, Any] | None, kind: str, *, simplify: bool = True,
                  rules: Sequence[str | Path] = (), mode: str = "auto") -> Derivation:
    """The Hessian (`kind="hessian"`) or Hessian-vector product (`kind="hvp"`) of `expression`, step by step."""
    from .api import _derive

    if kind not in KINDS:
        raise DeriveError(f"second derivative must be one of {', '.join(KINDS)}, not {kind!r}")
    first = _derive(expression, wrt, shapes, "auto", simplify, rules, mode)
    _require_scalar(first, kind)
    names = list(first.wrt)
    declared = {name: tuple(first.declared_shapes.get(name, ())) for name in names}
    arrays = [name for name in names if declared[name]]
    if arrays and len(names) > 1:
        raise DeriveError(f"--{kind} takes one vector or matrix variable at a time, or scalar variables only "
                          f"(here: {', '.join(names)})")
    if not arrays:
        if kind == "hvp":
            raise DeriveError("--hvp is for a vector or matrix variable; for scalar variables --hessian gives the "
                              "whole matrix of second partials")
        return _scalar_hessian(first, names, shapes, simplify, rules)
    (name,) = arrays
    if kind == "hessian" and "1" in declared[name]:
        raise DeriveError(f"--hessian: {name} is declared as a {show_math(_shape(first, name))} array; declare it "
                          f"1-D ({name}=n) for its n×n Hessian, or use --hvp")
    if kind == "hessian" and len(declared[name]) != 1:
        size = _hessian_size(first, name)
        raise DeriveError(f"--hessian: {name} is a matrix ({show_math(_shape(first, name))}), so its Hessian has four "
                          f"indices ({size} entries) and is never formed; --hvp gives the Hessian-vector product "
                          f"∇²f({name})[V] along a direction V shaped like {name}")
    if kind == "hessian":
        return _vector_hessian(first, name, shapes, simplify, rules)
    return _hvp(first, name, shapes, simplify, rules)


def _require_scalar(first: Derivation, kind: str) -> None:
    """A second derivative here is of a scalar function: a vector output's would have three indices."""
    upstream = first.output_shape and any(d != "1" for d in first.output_shape)
    if upstream or isinstance(first.expression, sympy.MatrixBase | sympy.MatrixExpr):
        shape = "×".join(first.output_shape) or "a list of functions"
        raise DeriveError(f"--{kind} needs a scalar function, but {first.output} has shape {shape}: its second "
                          f"derivative would have three indices; differentiate one scalar entry (or a sum) instead")


def _shape(derivation: Derivation, name: str) -> tuple:
    return tuple(derivation.symbols[name].shape) if name in derivation.symbols else ()


def _hessian_size(derivation: Derivation, name: str) -> str:
    """(mn)² written as the paper would: n⁴, (mn)², 144."""
    rows, cols = _shape(derivation, name)
    text = sympy.sstr((rows * cols) ** 2)
    return re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUPERSCRIPTS), text).replace("*", "·")


def _dims(derivation: Derivation, extra: Mapping[str, tuple] | None = None) -> dict[str, int]:
    dims = {name: len(shape) for name, shape in derivation.declared_shapes.items()}
    dims.update({name: len(shape) for name, shape in (extra or {}).items()})
    return dims


def _written(first: Derivation, expr: sympy.Basic, what: str) -> str:
    """`expr` (named intermediates replaced by their definitions) in the input language."""
    replacements = {first.symbols[n]: d for n, d in first.definitions.items() if n in first.symbols}
    for _ in range(len(replacements)):  # definitions may name earlier ones
        if not any(s in expr.free_symbols for s in replacements):
            break
        expr = expr.xreplace(replacements)
    try:
        return input_text(expr, _dims(first))
    except NotWritable as exc:
        raise DeriveError(f"{what} cannot be written in the input language, so it cannot be differentiated "
                          f"again: {exc}") from None


#: characters of the gradient's text quoted in an explanation or an error (all of it is in `SecondOrder`)
QUOTED = 300


def _shortened(text: str) -> str:
    return text if len(text) <= QUOTED else text[: QUOTED - 4] + " ..."


def _fresh(taken: set[str], candidates: Sequence[str]) -> str:
    return free_name(candidates, taken, stem=candidates[0])


def _taken(first: Derivation, shapes: Mapping[str, Any] | None) -> set[str]:
    from .ruletable import default_table

    table = default_table()
    return {*first.symbols, *(shapes or {}), first.output, *table.functions, *table.aliases, "pi", "E", "t"}


def _gradient_step(first: Derivation, gradient: sympy.Basic, text: str) -> Step:
    """Stage 1 as one collapsed step: the gradient, how many steps it took, and its text."""
    counts: dict[str, int] = {}
    for step in first.steps:
        counts[step.kind] = counts.get(step.kind, 0) + 1
    summary = ", ".join(f"{kind} ×{count}" for kind, count in counts.items())
    by = ", ".join(first.wrt)
    why = (f"stage 1, collapsed: the gradient by {by} ({len(first.steps)} steps: {summary}; derive without "
           f"--hessian/--hvp to see them), written in the input language as {_shortened(text)}")
    lhs = Partial(first.output, by, True)
    shapes = {"result": show_math(gradient.shape)} if isinstance(gradient, sympy.MatrixExpr | sympy.MatrixBase) \
        else {}
    return Step("gradient", lhs, gradient, "gradient", why, shapes=shapes, inner=tuple(first.steps))


def _stage_two(text: str, wrt: list[str], shapes: Mapping[str, Any] | None, simplify: bool, rules, *,
               layout: str, mode: str, what: str) -> Derivation:
    from .api import _derive

    try:
        return _derive(text, wrt, shapes, layout, simplify, rules, mode)
    except DeriveError as exc:
        raise DeriveError(f"{what}: differentiating the gradient {_shortened(text)!r} failed: {exc}") from None


def _kept_notes(first: Derivation, second: Derivation | None = None, *, skip: Sequence[str] = ()) -> tuple[str, ...]:
    """The first stage's notes, and the second's that say something about the mathematics (not about the
    names stage 2 made up or the shapes it was given)."""
    notes = list(first.notes)
    for note in (second.notes if second is not None else ()):
        if note not in notes and "does not depend on" not in note and "declared" not in note \
                and not any(name in note for name in skip):
            notes.append(note)
    return tuple(notes)


def _finish(first: Derivation, steps: list[Step], result, second: SecondOrder, *, rule: str, layout: str,
            symbols: Mapping[str, sympy.Basic] | None = None, notes: tuple[str, ...] = ()) -> Derivation:
    direction_shape = tuple(first.declared_shapes.get(first.wrt[0], ()))  # V is shaped like the variable
    dims = _dims(first, {second.direction: direction_shape} if second.direction else None)
    try:
        if isinstance(result, sympy.MatrixBase):  # scalar variables: the matrix row by row, each entry as text
            result_text = "[" + ", ".join("[" + ", ".join(input_text(v, dims) for v in result.row(i)) + "]"
                                          for i in range(result.rows)) + "]"
        else:
            result_text = input_text(result, dims)
    except NotWritable:
        result_text = None
    second = dataclasses.replace(second, result_text=result_text, stage1=first)
    return dataclasses.replace(
        first, steps=steps, result=result, rule=rule, layout=layout, gradients={}, definitions={},
        symbols=dict(symbols if symbols is not None else first.symbols), notes=notes or first.notes,
        shapes={**first.shapes, **({second.direction: first.shapes[first.wrt[0]]} if second.direction else {})},
        check=None, answer=None, expansion=None, second=second)


# -- scalar variables ----------------------------------------------------------


def _scalar_hessian(first: Derivation, names: list[str], shapes, simplify: bool, rules) -> Derivation:
    gradient = first.result if isinstance(first.result, sympy.MatrixBase) else sympy.ImmutableMatrix([[first.result]])
    partials = list(gradient)
    texts = [_written(first, g, f"∂{first.output}/∂{n}") for g, n in zip(partials, names)]
    column = sympy.ImmutableMatrix(len(names), 1, partials)
    steps = [_gradient_step(first, column, "[" + ", ".join(texts) + "]")]
    taken = _taken(first, shapes)
    size = len(names)
    entries: dict[tuple[int, int], sympy.Basic] = {}
    notes: list[str] = []
    for i, (name, text) in enumerate(zip(names, texts)):
        label = _fresh(taken, (f"g_{name}", f"d{first.output}_d{name}", f"grad_{name}"))
        taken.add(label)
        rest = names[i:]
        stage = _stage_two(f"{label} = {text}", rest, shapes, simplify, rules, layout="numerator", mode="auto",
                           what=f"the second partials by {name}")
        steps += _named_row(stage.steps, label, first.output, name)
        row = stage.result if isinstance(stage.result, sympy.MatrixBase) else [stage.result]
        for j, value in enumerate(row):
            entries[(i, i + j)] = value
        notes += [n for n in _kept_notes(first, stage, skip=(label,)) if n not in notes]
    hessian = sympy.ImmutableMatrix(size, size, lambda i, j: entries[(min(i, j), max(i, j))])
    lhs = _scalar_lhs(first.output, names)
    mixed = [f"∂²{first.output}/∂{names[j]}∂{names[i]} = ∂²{first.output}/∂{names[i]}∂{names[j]}"
             for i in range(size) for j in range(i + 1, size)]
    why = ("the matrix of second partials: row i, column j is ∂²f/∂xᵢ∂xⱼ. "
           + (f"Each mixed partial was derived once and mirrored ({'; '.join(mixed)}): they are equal wherever "
              f"they are continuous (Schwarz's theorem), so the Hessian is symmetric" if mixed
              else "one variable: the second derivative"))
    steps.append(Step("combine", lhs, hessian, "hessian-symmetry", why,
                      shapes={"result": f"{size}×{size}"}))
    gradient_text = "[" + ", ".join(texts) + "]"
    second = SecondOrder("hessian", column, gradient_text, lhs)
    return _finish(first, steps, hessian, second, rule="hessian", layout="numerator", notes=tuple(notes))


def _named_row(steps: list[Step], label: str, output: str, name: str) -> list[Step]:
    """Stage-2 steps of one row; the step introducing its output says which first partial it is."""
    why = f"∂{output}/∂{name} from stage 1, in terms of the intermediate variables; differentiated next"
    return [dataclasses.replace(s, explanation=why) if s.kind == "introduce" and str(s.lhs) == label else s
            for s in steps]


def _scalar_lhs(output: str, names: list[str]) -> SecondSymbol:
    if len(names) == 1:
        (name,) = names
        return SecondSymbol(f"∂²{output}/∂{name}²", rf"\frac{{\partial^{{2}} {output}}}{{\partial {name}^{{2}}}}")
    joined = ", ".join(names)
    return SecondSymbol(f"∂²{output}/∂({joined})²",
                        rf"\frac{{\partial^{{2}} {output}}}{{\partial \left({joined}\right)^{{2}}}}")


# -- one vector variable -------------------------------------------------------


def _vector_hessian(first: Derivation, name: str, shapes, simplify: bool, rules) -> Derivation:

    column = _column(first.result)
    text = _written(first, column, f"the gradient by {name}")
    steps = [_gradient_step(first, column, text)]
    label = _fresh(_taken(first, shapes), ("g", "grad", "gradient"))
    (n, _) = _shape(first, name)
    lhs = SecondSymbol(f"∂²{first.output}/∂{name}∂{name}ᵀ",
                       rf"\frac{{\partial^{{2}} {first.output}}}{{\partial \mathbf{{{name}}}\,"
                       rf"\partial \mathbf{{{name}}}^{{T}}}}")
    stage = _stage_two(f"{label} = {text}", [name], shapes, simplify, rules, layout="numerator", mode="forward",
                       what=f"the Hessian by {name} (--hvp {name} needs no n×n matrix)")
    steps += stage.steps
    hessian = stage.result
    if name not in stage.symbols or not isinstance(hessian, sympy.MatrixExpr | sympy.MatrixBase):
        hessian = sympy.ZeroMatrix(n, n)  # the gradient does not depend on x: f is linear in x
    why = (f"the Jacobian of the gradient (a column) is the Hessian, in numerator layout: row i is "
           f"∂(∇f)ᵢ/∂{name}ᵀ and column j holds ∂/∂{name}ⱼ, so entry (i, j) is ∂²f/∂{name}ᵢ∂{name}ⱼ; "
           f"it is symmetric wherever the second partials are continuous")
    steps.append(Step("combine", lhs, hessian, "hessian-jacobian-of-gradient", why,
                      shapes={"result": show_math((n, n))}))
    second = SecondOrder("hessian", column, text, lhs)
    return _finish(first, steps, hessian, second, rule=stage.rule, layout="numerator",
                   notes=_kept_notes(first, stage, skip=(label,)))


# -- Hessian-vector products -----------------------------------------------------


def _hvp(first: Derivation, name: str, shapes, simplify: bool, rules) -> Derivation:

    numpy_shape = tuple(first.declared_shapes.get(name, ()))
    gradient = _column(first.result) if len(numpy_shape) == 1 or first.layout == "numerator" else first.result
    text = _written(first, gradient, f"the gradient by {name}")
    steps = [_gradient_step(first, gradient, text)]
    taken = _taken(first, shapes)
    direction = _fresh(taken, DIRECTION_NAMES)
    taken.add(direction)
    label = _fresh(taken, ("gV", "gv", "g"))
    direction_shape = ",".join(numpy_shape)
    given = dict(shapes or {})
    given[direction] = direction_shape
    shape = _shape(first, name)
    entries = _hessian_size(first, name)
    lhs = SecondSymbol(f"∇²{first.output}({name})[{direction}]",
                       rf"\nabla^{{2}} {first.output}\left({_bold(name, numpy_shape)}\right)"
                       rf"\left[{_bold(direction, numpy_shape)}\right]")
    stage = _stage_two(f"{label} = sum(({text})*{direction})", [name], given, simplify, rules,
                       layout="denominator", mode="auto", what=f"the Hessian-vector product by {name}")
    direction_symbol = stage.symbols.get(direction, sympy.MatrixSymbol(direction, *shape))
    f, shown = first.output, first.shapes.get(name, show_math(shape))
    intro = Step("combine", lhs, _inner(gradient, direction_symbol), "hessian-vector-product",
                 f"the Hessian of {f} by the {shown} {name} would have {entries} entries (every entry of ∇{f} by "
                 f"every entry of {name}) and is never formed; instead, along a direction {direction} shaped like "
                 f"{name}: ∇²{f}({name})[{direction}] = d/dt ∇{f}({name} + t{direction}) at t = 0, which equals "
                 f"∇_{name} sum(∇{f}({name}) ⊙ {direction}) because the Hessian is symmetric: one more gradient "
                 f"of a scalar, derived next", shapes={"result": "1"})
    steps.append(intro)
    steps += stage.steps
    result = _distributed(stage.result)
    if name not in stage.symbols:
        result = sympy.ZeroMatrix(*shape)
    steps.append(Step("combine", lhs, result, "hessian-vector-product-result",
                      f"∇²{f}({name})[{direction}], shaped like {name} ({shown}): the Hessian applied to "
                      f"{direction}, without its {entries} entries", shapes={"result": shown}))
    symbols = dict(first.symbols)
    symbols[direction] = direction_symbol
    second = SecondOrder("hvp", gradient, text, lhs, direction=direction, hessian_entries=entries)
    return _finish(first, steps, result, second, rule=stage.rule, layout="denominator", symbols=symbols,
                   notes=_kept_notes(first, stage, skip=(label, direction)))


def _column(gradient):
    """A vector's gradient as a column (numerator layout gives a row), in every case of a case split."""
    from . import algebra

    if isinstance(gradient, sympy.Piecewise):
        return sympy.Piecewise(*[(_column(value), condition) for value, condition in gradient.args])
    if isinstance(gradient, sympy.MatrixExpr | sympy.MatrixBase) and gradient.shape[0] == 1:
        return algebra.transpose(gradient)
    return gradient


def _distributed(result):
    """(Vᵀ A + Vᵀ Aᵀ)ᵀ as Aᵀ V + A V: a vector's HVP comes back from layout as the transpose of a row."""
    from . import algebra

    def transposed(term):
        if isinstance(term, sympy.MatMul):  # (PQ)ᵀ = QᵀPᵀ, factor by factor
            scalars = [a for a in term.args if not isinstance(a, sympy.MatrixExpr)]
            arrays = [algebra.transpose(a) for a in reversed(term.args) if isinstance(a, sympy.MatrixExpr)]
            return sympy.MatMul(*scalars, *arrays)
        return algebra.transpose(term)

    if isinstance(result, sympy.Transpose) and isinstance(result.arg, sympy.MatAdd | sympy.MatMul):
        terms = sympy.MatAdd.make_args(result.arg)
        return sympy.MatAdd(*[transposed(term) for term in terms]) if len(terms) > 1 else transposed(terms[0])
    return result


def _inner(gradient, direction) -> sympy.Basic:
    """sum(∇f ⊙ V), the scalar whose gradient is the Hessian-vector product (displayed as tr(∇fᵀ V))."""
    return sympy.Trace(sympy.MatMul(sympy.Transpose(gradient), direction))


def _bold(name: str, shape: tuple) -> str:
    return rf"\mathbf{{{name}}}" if len(shape) == 1 else rf"\mathrm{{{name}}}"
