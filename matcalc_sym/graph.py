"""Intermediate variables: the compiler's-registers view of an expression.

Every operator or function application becomes one variable (u1, u2, … or the
user's own name), innermost first; a shared subexpression is one node of the
DAG and so one variable. The output is introduced last.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy

from .errors import DeriveError
from .expr import Node, topological_order
from .parse import Program
from .ruletable import RuleTable
from .symbolic import COMPARISONS, build, matrix_shape

_RESERVED_PREFIXES = ("u", "v", "t", "h", "g")


@dataclass(frozen=True)
class Intermediate:
    """One introduced variable: its symbol and its definition in earlier symbols."""

    node: Node
    symbol: sympy.Symbol
    definition: sympy.Basic
    user_named: bool = False


@dataclass
class IntermediateGraph:
    """The DAG of a program with a symbol for every node and the full expressions."""

    program: Program
    order: list[Node]
    symbol_of: dict[Node, sympy.Basic]
    full: dict[Node, sympy.Basic]
    intermediates: list[Intermediate]
    output: Node
    output_symbol: sympy.Symbol
    variables: dict[str, sympy.Symbol] = field(default_factory=dict)

    @property
    def table(self) -> RuleTable:
        return self.program.table

    def substitution(self) -> dict[sympy.Basic, sympy.Basic]:
        """Each intermediate symbol mapped to its expression in the inputs."""
        return {item.symbol: self.full[item.node] for item in self.intermediates}


def introduce(program: Program, reserved: frozenset[str] = frozenset()) -> IntermediateGraph:
    """Name every operator application, innermost first, the output last.

    `reserved` names (the wrt variables) are never given to the output or an
    intermediate, even when the expression does not use them: `sin(x**2)` by
    y must not print dy/dy.
    """
    output = program.output
    if output.is_leaf:
        output = Node("identity", (output,), shape=output.shape)
    order = topological_order(output)
    taken = set(program.variables) | set(program.names.values()) | set(reserved)
    output_name = program.output_name or free_name(("y", "f", "g", "out"), taken)
    prefix = _prefix(taken | {output_name})
    symbol_of: dict[Node, sympy.Basic] = {}
    full: dict[Node, sympy.Basic] = {}
    variables: dict[str, sympy.Basic] = {}
    intermediates: list[Intermediate] = []
    counter = 0
    large = is_large(order)
    for node in order:
        if node.op == "var":
            symbol = make_symbol(node.value, node.shape)
            variables[node.value] = symbol
            symbol_of[node] = full[node] = symbol
            continue
        if node.op == "const":
            symbol_of[node] = full[node] = node.value
            continue
        args = [symbol_of[a] for a in node.args]
        if node.op in COMPARISONS:  # a condition stays inline: where(u > 0, …) reads as written
            symbol_of[node] = _definition(node, args, program.table, evaluate=True)
            full[node] = _definition(node, [full[a] for a in node.args], program.table, evaluate=not large)
            continue
        if node is output:
            name, user_named = output_name, program.output_name is not None
        elif node in program.names:
            name, user_named = program.names[node], True
        else:
            counter += 1
            name, user_named = f"{prefix}{counter}", False
        symbol = make_symbol(name, node.shape)
        definition = _definition(node, args, program.table)
        intermediates.append(Intermediate(node, symbol, definition, user_named))
        symbol_of[node] = symbol
        full[node] = _definition(node, [full[a] for a in node.args], program.table, evaluate=not large)
    _refuse_undefined(full[output], program.source)
    return IntermediateGraph(program, order, symbol_of, full, intermediates, output,
                             symbol_of[output], variables)


def _refuse_undefined(expression: sympy.Basic, source: str) -> None:
    """An expression that SymPy reduces to zoo or nan has no derivative to explain."""
    if not isinstance(expression, sympy.MatrixBase) and expression.has(sympy.zoo, sympy.nan):
        raise DeriveError(f"the expression {' '.join(source.split())[:80]!r} is undefined everywhere "
                          "(it divides by something identically zero)")


#: above this many operations, full expressions are built without SymPy's automatic evaluation
LARGE_GRAPH = 300


def is_large(order: list[Node]) -> bool:
    """Large graphs skip SymPy's automatic evaluation of whole expressions.

    Building sin(<a 1000-node argument>) makes SymPy query the argument's
    assumptions recursively (seconds per call on the benchmarks' 1600-node
    expressions); the result is the same expression, only not auto-tidied,
    and simplify already leaves trees that large alone.
    """
    return sum(1 for node in order if not node.is_leaf) > LARGE_GRAPH


def _definition(node: Node, args: list[sympy.Basic], table: RuleTable, evaluate: bool = False) -> sympy.Basic:
    if node.op == "identity":
        return args[0]
    return build(node.op, args, table, evaluate=evaluate, shape=node.shape, arg_shapes=[a.shape for a in node.args],
                 params=node.value or ())


def make_symbol(name: str, shape: tuple) -> sympy.Basic:
    """A real scalar symbol, or a matrix symbol (a 1-D array is an n×1 column)."""
    if not shape:
        return sympy.Symbol(name, real=True)
    return sympy.MatrixSymbol(name, *matrix_shape(shape))


def free_name(candidates: Sequence[str], taken: set[str], stem: str = "out") -> str:
    """The first candidate not taken, else `stem` numbered (out1, out2, …)."""
    for name in candidates:
        if name not in taken:
            return name
    index = 1
    while f"{stem}{index}" in taken:
        index += 1
    return f"{stem}{index}"


def _prefix(taken: set[str]) -> str:
    """A letter for u1, u2, … that no user name of the form <letter><digits> uses."""
    for letter in _RESERVED_PREFIXES:
        if not any(re.fullmatch(rf"{letter}\d+", name) for name in taken):
            return letter
    return "tmp"


def array_program(graph: IntermediateGraph) -> bool:
    """True when arrays take part (a bracketed list of scalars alone is handled per entry)."""
    return any(node.shape and node.op != "vector" for node in graph.order)


def differentiable_depends(order: list[Node], sources: set[Node]) -> set[Node]:
    """Nodes that depend on a source, except through a comparison (its derivative is 0 almost everywhere)."""
    depends: set[Node] = set()
    for node in order:
        if node.op in COMPARISONS:
            continue
        if node in sources or any(a in depends for a in node.args):
            depends.add(node)
    return depends
