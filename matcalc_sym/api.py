"""`derive`: the library's front door, one stage of the pipeline per call.

parse → introduce intermediate variables → differentiate/combine/substitute
(per variable) → assemble the gradient or Jacobian → simplify.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import sympy

from . import algebra
from .arrays import Ones, is_array
from .dataflow import dataflow_of
from .engine import Forward, VariableDerivation, components
from .errors import DeriveError
from .graph import IntermediateGraph, array_program, introduce, make_symbol
from .hints import did_you_mean, unused_shape_notes
from .operations import operation
from .parse import parse
from .reverse import Reverse
from .ruletable import RuleTable, default_table
from .sandbox import report_stage, run_limited
from .shapes import Shape, show_math
from .simplify import readable
from .steps import Derivation, Partial, Step
from .treeshape import flatten_derivation, sympy_defaults
from .userrules import load_user_table

LAYOUTS = ("auto", "numerator", "denominator")
MODES = ("auto", "forward", "reverse")


def derive(
    expression: str,
    wrt: str | Sequence[str] | None = None,
    *,
    shapes: Mapping[str, str | Shape] | None = None,
    layout: str = "auto",
    mode: str = "auto",
    simplify: bool = True,
    timeout: float | None = None,
    rules: Sequence[str | Path] = (),
    expand: int | None = None,
    check: bool = False,
    answer: str | None = None,
    hessian: bool = False,
    hvp: bool = False,
) -> Derivation:
    """Derive `expression` by `wrt`, keeping every step.

    `wrt` may be one name, several (a list or "x, y"), or None when the
    expression has exactly one variable. `timeout` (seconds) runs the work in a
    child process that is stopped when time runs out (`LimitExceeded`).
    `expand=3` also writes every array out with 3 entries per dimension and
    compares the result, in its layout, with sympy.diff of the scalar component
    functions, one block per variable (`d.expansion`).
    `check=True` verifies the result and every local derivative (`d.check`).
    `answer="A@x + A.T@x"` compares a derivative you expect (input language)
    with the derived one and says what is wrong, if anything (`d.answer`).
    `hessian=True` gives the second derivative (the gradient's derivation is
    its first stage); `hvp=True` the Hessian-vector product along a direction
    V shaped like a vector or matrix variable (see `matcalc_sym.hessian`).
    """
    if layout not in LAYOUTS:
        raise DeriveError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if mode not in MODES:
        raise DeriveError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")

    second = _second_kind(hessian, hvp, layout, expand, answer)

    def task() -> Derivation:
        with sympy_defaults():
            if second is not None:
                return _derive_second(expression, wrt, shapes, second, simplify, rules, mode, check)
            derivation = flatten_derivation(_derive(expression, wrt, shapes, layout, simplify, rules, mode))
            if expand is not None:
                report_stage("expand")
                from .expand import expand_check  # loaded only when asked for: start-up stays short

                _refuse_dense(derivation, expand, "expand=")
                _refuse_unused_wrt(derivation, "expand=")
                derivation = dataclasses.replace(derivation, expansion=expand_check(derivation, expand))
            if check:
                report_stage("check")
                from .check import verify

                _refuse_dense(derivation, 3, "check=True")

                derivation = dataclasses.replace(derivation, check=verify(derivation))
            if answer is not None:
                report_stage("answer")
                from .answer import check_answer

                _refuse_dense(derivation, 3, "answer=")
                derivation = dataclasses.replace(derivation, answer=check_answer(derivation, answer))
            return derivation

    if timeout is None:
        return _in_process(task)
    return run_limited(task, timeout)


def _second_kind(hessian: bool, hvp: bool, layout: str, expand, answer) -> str | None:
    """Which second derivative is asked for, refusing the options that do not go with one."""
    if not (hessian or hvp):
        return None
    if hessian and hvp:
        raise DeriveError("hessian and hvp: ask for one (hvp is the Hessian applied to a direction V)")
    kind = "hessian" if hessian else "hvp"
    for given, what in ((layout != "auto", "layout="), (expand is not None, "expand="), (answer is not None, "answer=")):
        if given:
            raise DeriveError(f"{what} is not available with {kind}=True (a Hessian is laid out as the matrix of "
                              f"∂²f/∂xᵢ∂xⱼ; an HVP is shaped like its variable)")
    return kind


def _derive_second(expression, wrt, shapes, kind, simplify, rules, mode, check) -> Derivation:
    """A Hessian or HVP (matcalc_sym.hessian), checked against the text when asked."""
    from .hessian import derive_second

    derivation = flatten_derivation(derive_second(expression, wrt, shapes, kind, simplify=simplify, rules=rules,
                                                  mode=mode))
    if check:
        report_stage("check")
        from .hessiancheck import verify_second

        _refuse_dense(derivation, 3, "check=True")
        derivation = dataclasses.replace(derivation, check=verify_second(derivation))
    return derivation


def _refuse_dense(derivation: Derivation, size: int, what: str) -> None:
    """A clear error before evaluation would build an array larger than `limits.MAX_DENSE_ENTRIES`.

    Checks and expansions give symbolic dimensions (n) a small size, but a
    declared number is used as it is: w=999999 meant a 999999×999999 Jacobian
    (12 GB and more) before anything could stop it.
    """
    from .treeshape import derivation_arrays, refuse_dense

    exprs = derivation_arrays(derivation)
    dims = {s: size for e in exprs if isinstance(e, sympy.Basic) for s in e.free_symbols if s.is_integer}
    refuse_dense(exprs, dims, what, "declare a symbolic dimension such as w=n to check with small sizes")


def _refuse_unused_wrt(derivation: Derivation, what: str) -> None:
    unused = [name for name in derivation.wrt if name not in derivation.symbols]
    if unused:
        raise DeriveError(f"{what}: {derivation.output} does not depend on {unused[0]}, so there is nothing to "
                          f"write out (its derivative by {unused[0]} is 0)")


def _in_process(task: Callable[[], Derivation]) -> Derivation:
    """The work in the caller's process, where Python's stack is the caller's (and its recursion limit)."""
    try:
        return task()
    except RecursionError:
        raise DeriveError("the derivative nests too deeply for this process's stack (a long product?); "
                          "derive(..., timeout=seconds) works on it in a worker with a larger stack") from None


def _derive(expression, wrt, shapes, layout, simplify, rules, mode="auto") -> Derivation:
    report_stage("parse")
    table = _table(rules)
    program = parse(expression, shapes, table)
    report_stage("derive")
    graph = introduce(program, frozenset(_wrt_names(wrt, program)))
    names, notes = _resolve_wrt(wrt, graph)
    notes += list(program.notes) + unused_shape_notes(shapes, program.variables)
    steps = [_introduce_step(graph, item) for item in graph.intermediates]
    if _use_reverse(graph, names, mode):
        return _derive_reverse(expression, program, graph, names, notes, steps, layout, simplify)
    forward = _derive_forward(expression, program, graph, names, list(notes), list(steps), layout, simplify)
    if mode == "auto" and _worth_comparing(graph, names):
        return _reads_better(forward, lambda: _derive_reverse(expression, program, graph, names, list(notes),
                                                              list(steps), layout, simplify))
    return forward


def _worth_comparing(graph: IntermediateGraph, names: list[str]) -> bool:
    """A small scalar loss of vectors: both modes apply, and deriving it twice costs milliseconds."""
    declared = graph.program.declared
    return (array_program(graph) and graph.output.shape == () and graph.output.op != "vector"
            and len(graph.order) <= COMPARED_NODES and all(len(declared.get(name, ())) <= 1 for name in names))


#: operations in a graph up to which auto mode derives a scalar loss of vectors both ways
COMPARED_NODES = 40
#: the share of forward mode's operations at most that reverse mode's result must have to be preferred
CLEARLY_SHORTER = 0.75


def _reads_better(forward: Derivation, reverse: Callable[[], Derivation]) -> Derivation:
    """The derivation whose result a reader takes in faster (`algebra.reading_cost`), forward on a tie.

    Both give the gradient in the same layout (a row in numerator layout); reverse mode keeps the
    names you gave intermediate results, forward mode substitutes them back.
    """
    try:
        backward = reverse()
    except (DeriveError, TypeError, ValueError, AttributeError, NotImplementedError):
        return forward  # the alternative is optional: forward mode's derivation stands (x[2:5] of a long x)
    ours, theirs = algebra.reading_cost(backward.result), algebra.reading_cost(forward.result)
    if not (ours[0] < theirs[0] or (ours[0] == theirs[0] and ours[1] <= CLEARLY_SHORTER * theirs[1])):
        return forward  # the paper's vector chain rule, unless backprop reads clearly better
    note = (f"auto mode used reverse mode (backprop): its closed form is shorter than forward mode's "
            f"({ours[1]} against {theirs[1]} operations{', and it keeps your names' if backward.definitions else ''})")
    return dataclasses.replace(backward, notes=(*backward.notes, note))


def _derive_forward(expression, program, graph, names, notes, steps, layout, simplify) -> Derivation:
    engine = Forward(graph)
    per_variable = [engine.derive(name) for name in names]
    for derived in per_variable:
        steps.extend(derived.steps)
    result, used_layout, assembled = _assemble(graph, per_variable, layout)
    if assembled is not None:
        steps.append(assembled)
    final_lhs = _final_lhs(graph, names, assembled)
    if simplify:
        report_stage("simplify")
        simpler = readable(result)
        if simpler != result:
            steps.append(Step("simplify", final_lhs, simpler, "simplify",
                              "a shorter equivalent form", shapes=_shape_note(simpler)))
            result = simpler
    notes += operation_notes(graph, {names[0]: result} if len(names) == 1 else {})
    return Derivation(
        source=expression,
        expression=graph.full[graph.output],
        output=str(graph.output_symbol),
        wrt=tuple(names),
        steps=steps,
        result=result,
        rule=_chain_rule(graph, per_variable),
        layout=used_layout,
        shapes={name: show_math(node.shape) for name, node in program.variables.items() if node.shape},
        symbols=_with_unused(graph, names, dict(graph.variables)),
        notes=tuple(notes),
        dataflow=dataflow_of(graph),
        **_oracle_fields(program),
    )


def _with_unused(graph: IntermediateGraph, names: list[str], symbols: dict) -> dict:
    """A wrt variable the output does not use still has its declared shape (its zero derivative does)."""
    for name in names:
        if name not in symbols:
            symbols[name] = make_symbol(name, graph.program.declared.get(name, ()))
    return symbols


def _oracle_fields(program) -> dict:
    """What the independent reference evaluator needs besides the text: the declared NumPy
    shapes and a rules file's function definitions (data, never the translation)."""
    shipped = default_table()
    table = program.table
    functions, aliases = {}, {}
    if table is not None and table is not shipped:
        for name, spec in table.functions.items():
            definition = spec.written_definition or spec.definition
            if name not in shipped.functions and definition:
                functions[name] = definition
        aliases = {alias: name for alias, name in table.aliases.items() if alias not in shipped.aliases}
    return {"declared_shapes": {name: tuple(str(d) for d in shape) for name, shape in program.declared.items()},
            "user_functions": functions, "user_aliases": aliases,
            "output_shape": tuple(str(d) for d in program.output.shape)}


def operation_notes(graph: IntermediateGraph, results: Mapping[str, sympy.Basic]) -> list[str]:
    """What the declared operations of the graph read in its results (each note once, in graph order)."""
    from .operations import operation

    notes: list[str] = []
    for name in dict.fromkeys(node.op for node in graph.order):
        op = operation(name)
        if op is not None and op.notes is not None:
            notes += [note for note in op.notes(graph, dict(results)) if note not in notes]
    return notes


def _use_reverse(graph: IntermediateGraph, names: list[str], mode: str) -> bool:
    """Reverse mode when asked, or when a forward Jacobian would have more than two dimensions."""
    if mode == "reverse":
        return True
    declared = graph.program.declared
    on_paths = _on_paths(graph, names)
    needs_reverse = any(len(node.shape) == 2 for node in on_paths) or any(
        len(declared.get(name, ())) == 2 for name in names) or len(graph.output.shape) == 2
    if mode == "forward" and needs_reverse:
        raise DeriveError("forward mode would need a Jacobian with more than two dimensions "
                          "(a matrix on the path from the variable); use mode='reverse'")
    stretched = _stretched_on_paths(graph, on_paths)
    if mode == "forward" and stretched:
        raise DeriveError(f"forward mode has no Jacobian rule for an array broadcast to a larger shape "
                          f"(at '{stretched}'); use mode='reverse'")
    return needs_reverse or stretched is not None


def _stretched_on_paths(graph: IntermediateGraph, on_paths: set) -> str | None:
    """The first element-wise operation that stretches a dependent array (shape (1,) to (n,)), if any.

    Forward mode's element-wise Jacobians are diagonal, which holds only when
    the operand has the result's shape; reverse mode sums over the stretch.
    """
    for node in graph.order:
        if node not in on_paths or node.is_leaf:
            continue
        spec = graph.table.function(node.op)
        elementwise = node.op in ("add", "sub", "mul", "div", "pow", "neg", "where") or (
            spec is not None and spec.kind == "elementwise")
        if elementwise and any(a in on_paths and a.shape and a.shape != node.shape for a in node.args):
            return node.op
    return None


def _on_paths(graph: IntermediateGraph, names: list[str]) -> set:
    depends: set = set()
    for node in graph.order:
        if (node.op == "var" and node.value in names) or any(a in depends for a in node.args):
            depends.add(node)
    return depends


def _derive_reverse(expression, program, graph, names, notes, steps, layout, simplify) -> Derivation:
    derived = Reverse(graph).derive(names)
    steps.extend(derived.steps)
    matrices = any(len(program.variables[n].shape) == 2 for n in names if n in program.variables)
    used = layout if layout != "auto" else ("denominator" if matrices else "numerator")
    variables = _with_unused(graph, names, dict(graph.variables))
    gradients = {name: _reverse_layout(derived.gradients[name], variables.get(name), used) for name in names}
    if simplify:
        report_stage("simplify")
        for name in names:
            simpler = readable(gradients[name])
            if simpler != gradients[name]:
                steps.append(Step("simplify", Partial(derived.loss, name, True), simpler, "simplify",
                                  "a shorter equivalent form", wrt=name))
                gradients[name] = simpler
    result = gradients[names[0]] if len(names) == 1 else sympy.Tuple(*[gradients[n] for n in names])
    notes = [*notes, *operation_notes(graph, gradients)]
    definitions = {item.symbol.name: graph.full[item.node] for item in graph.intermediates if item.user_named}
    symbols = _with_unused(graph, names, dict(graph.variables))
    symbols.update({item.symbol.name: item.symbol for item in graph.intermediates if item.user_named})
    for symbol, definition in derived.adjoints.items():  # after the named results they are written with
        definitions[symbol.name] = definition
        symbols[symbol.name] = symbol
    if derived.adjoints:
        names_kept = ", ".join(str(symbol.name) for symbol in derived.adjoints)
        notes = [*notes, f"the gradients keep the shared adjoints {names_kept} as names (each defined once, in "
                         "terms of the next, as backprop computes them); Derivation.expanded() writes them out"]
    if derived.upstream is not None:
        symbols[derived.upstream.name] = derived.upstream
        notes = [*notes, f"the output is not a scalar: the result is the vector-Jacobian product for a scalar "
                         f"loss J, with the upstream gradient {derived.upstream.name} as an input"]
    return Derivation(
        source=expression, expression=graph.full[graph.output], output=derived.loss, wrt=tuple(names),
        steps=steps, result=result, rule="backprop", layout=used,
        shapes={name: show_math(node.shape) for name, node in program.variables.items() if node.shape},
        symbols=symbols, notes=tuple(notes), gradients=gradients, definitions=definitions,
        dataflow=dataflow_of(graph), **_oracle_fields(program),
    )


def _reverse_layout(gradient, variable, layout: str):
    """Backprop gives ∂J/∂W shaped like W (denominator layout); numerator layout is its transpose.

    In auto layout a derivation with a matrix variable keeps every gradient
    shaped like its parameter; otherwise it matches forward mode (rows).
    """
    if layout == "denominator" or not is_array(variable):
        return gradient
    return _transpose_result(gradient)


def _table(rules: Sequence[str | Path]) -> RuleTable:
    if not rules:
        return default_table()
    paths = tuple(Path(p) for p in rules)
    for path in paths:
        if not path.is_file():
            raise DeriveError(f"rules file {str(path)!r} does not exist")
    return load_user_table(paths)


def _wrt_names(wrt, program) -> list[str]:
    """The names `wrt` gives, checked against the names the expression assigns.

    Differentiating by an assigned name (the output, or an intermediate
    result) is not differentiating by a variable: say so instead of
    reporting a derivative of 0.
    """
    if wrt is None:
        return []
    names = [n for n in re.split(r"[,\s]+", wrt.strip())] if isinstance(wrt, str) else [str(n).strip() for n in wrt]
    assigned = set(program.names.values()) | ({program.output_name} if program.output_name else set())
    for name in names:
        if name in assigned:
            inputs = ", ".join(sorted(program.variables)) or "none"
            raise DeriveError(f"wrt: {name!r} is assigned in the expression ({name} = ...), not a variable; "
                              f"differentiate by an input variable (here: {inputs})")
    return [n for n in names if n]


def _resolve_wrt(wrt, graph: IntermediateGraph) -> tuple[list[str], list[str]]:
    known = sorted(graph.variables)
    if wrt is None:
        if len(known) == 1:
            return known, []
        if not known:
            raise DeriveError("the expression has no variables; say which variable with wrt (its derivative is 0)")
        raise DeriveError(f"the expression has several variables ({', '.join(known)}); say which with wrt")
    names = [n for n in re.split(r"[,\s]+", wrt.strip())] if isinstance(wrt, str) else [str(n).strip() for n in wrt]
    names = [n for n in names if n]
    if not names:
        raise DeriveError("wrt names no variable")
    notes = []
    for name in names:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            raise DeriveError(f"wrt: {name!r} is not a variable name")
        if names.count(name) > 1:
            raise DeriveError(f"wrt names {name!r} twice")
        if name not in graph.variables:
            note = f"{graph.output_symbol} does not depend on {name}, so its derivative by {name} is 0"
            notes.append(note + did_you_mean(name, known))
    return names, notes


def _introduce_step(graph: IntermediateGraph, item) -> Step:
    uses = sum(1 for n in graph.order for a in n.args if a is item.node)
    if item.node is graph.output:
        why = "the output, in terms of the intermediate variables"
    elif item.user_named:
        why = "your name for this intermediate result"
    else:
        why = "one operation per intermediate variable"
    if uses > 1:
        why += f"; used {uses} times, introduced once"
    shapes = {}
    if array_program(graph):
        shapes = {"shape": show_math(item.node.shape), "equation": shape_equation(item.node)}
    return Step("introduce", item.symbol, item.definition, "intermediate-variable", why, shapes=shapes)


def shape_equation(node) -> str:
    """The shape bookkeeping of one operation, as seed 003 writes it: n×5 = (n×3)@(3×5)ᵀ."""
    parts = [(str(a.value) if a.value.is_Atom else f"({a.value})") if a.is_const else f"({show_math(a.shape)})"
             for a in node.args]
    arrays = any(a.shape for a in node.args)
    symbols = {"add": " + ", "sub": " − ", "mul": " ⊙ " if arrays else "·", "div": " ⊘ " if arrays else "/",
               "matmul": "@", "pow": "^"}
    declared = operation(node.op)
    name = (declared.shown_as if declared is not None else None) or node.op  # max(X), not amax(X)
    if node.op in symbols and len(parts) == 2:
        body = symbols[node.op].join(parts)
    elif node.op == "transpose":
        body = f"{parts[0]}ᵀ"
    elif node.op == "index":  # X[0]: (m×n)[0]
        from .operations.indexing import spelled

        body = f"{parts[0]}[{spelled(dict(node.value)['index'])}]"
    elif len(parts) == 1:
        body = f"{name}{parts[0]}" if parts[0].startswith("(") else f"{name}({parts[0]})"
    else:
        body = f"{name}({', '.join(parts)})"
    return f"{show_math(node.shape)} = {body}"


def _assemble(graph: IntermediateGraph, per_variable: list[VariableDerivation], layout: str):
    outputs = components(graph)
    vector_output = graph.output.op == "vector"
    arrays = array_program(graph)
    used = "numerator" if layout == "auto" else layout
    if arrays and len(per_variable) > 1:
        raise DeriveError("several wrt variables with arrays: derive by one variable at a time for now")
    if arrays and vector_output:
        result = _stack(per_variable[0].results)
        return (_transpose_result(result) if used == "denominator" else result), used, None
    if arrays or (not vector_output and len(per_variable) == 1):
        result = per_variable[0].results[0]
        if used == "denominator":
            result = _transpose_result(result)
        return result, used, None
    rows = [[derived.results[i] for derived in per_variable] for i in range(len(outputs))]
    matrix = sympy.ImmutableMatrix(rows)
    if used == "denominator":
        matrix = matrix.T
    names = [d.wrt for d in per_variable]
    kind = "Jacobian" if vector_output else "gradient"
    lhs = Partial(str(graph.output_symbol), ", ".join(names), True)
    shape = f"{matrix.rows}×{matrix.cols}"
    orientation = {"numerator": "one row per output, one column per variable",
                   "denominator": "one row per variable, one column per output"}[used]
    why = f"collect the partial derivatives into the {kind} ({used} layout: {orientation})"
    step = Step("combine", lhs, matrix, kind.lower(), why, shapes={"result": shape})
    return matrix, used, step


def _stack(rows: list):
    """Entries of a bracketed list, one row each: scalars as a column, rows as a block matrix."""
    if not any(is_array(r) for r in rows):
        return sympy.ImmutableMatrix(len(rows), 1, rows)
    width = next(r.shape[1] for r in rows if is_array(r))
    blocks = [[r if is_array(r) else sympy.MatMul(r, Ones(1, width))] for r in rows]
    return sympy.BlockMatrix(blocks)


def _transpose_result(result):
    """Denominator layout: the transpose of every case of the numerator-layout result."""
    if isinstance(result, sympy.Piecewise):
        return sympy.Piecewise(*[(algebra.transpose(value), condition) for value, condition in result.args])
    return algebra.transpose(result)


def _final_lhs(graph: IntermediateGraph, names: list[str], assembled: Step | None):
    if assembled is not None:
        return assembled.lhs
    return Partial(str(graph.output_symbol), names[0], len(graph.variables) > 1)


def _shape_note(value) -> dict[str, str]:
    if isinstance(value, sympy.MatrixBase):
        return {"result": show_math((value.rows, value.cols))}
    return {}


def _chain_rule(graph: IntermediateGraph, per_variable: list[VariableDerivation]) -> str:
    if graph.output.op == "vector" or array_program(graph):
        return "vector"
    if any(p > 1 for derived in per_variable for p in derived.paths):
        return "total-derivative"
    return "single-variable"
