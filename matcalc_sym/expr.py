"""The expression graph: nodes shared by structure, so a DAG and not a tree.

Nodes are interned by a `GraphBuilder`: building `x**2` twice yields the same
node, which is how each shared subexpression becomes one intermediate variable.
The builder is per-parse state (no module-level caches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy

from .shapes import SCALAR, Shape

#: operators that chain without deepening the nesting (a + b + c is flat to SymPy)
_CHAIN_FAMILY = {"add": "additive", "sub": "additive", "mul": "multiplicative", "div": "multiplicative"}
LEAF_OPS = frozenset({"var", "const"})


@dataclass(frozen=True, eq=False, slots=True)
class Node:
    """One operator or function application (or a leaf) with its result's shape.

    `value` is the name of a variable or the SymPy value of a constant; `column`
    is where the node was first written, for error messages.
    """

    op: str
    args: tuple[Node, ...] = ()
    value: Any = None
    shape: Shape = SCALAR
    depth: int = 0
    column: int | None = field(default=None, compare=False)
    #: how deep the expression's *derivative* nests (see `derivative_height`)
    height: int = field(default=0, compare=False)

    @property
    def is_leaf(self) -> bool:
        return self.op in LEAF_OPS

    @property
    def is_const(self) -> bool:
        return self.op == "const"

    def __repr__(self) -> str:
        if self.op == "var":
            return f"Node(var {self.value})"
        if self.op == "const":
            return f"Node(const {self.value})"
        return f"Node({self.op}, {len(self.args)} args)"


def nesting_depth(op: str, args: tuple[Node, ...], depth_of=None) -> int:
    """Depth that counts a chain of + or × as one level, as SymPy flattens it.

    `depth_of(arg)` replaces `arg.depth` (the parser counts a named result as
    a leaf: its nesting limit applies to each statement on its own).
    """
    family = _CHAIN_FAMILY.get(op)
    depth = 0
    for arg in args:
        same = family is not None and _CHAIN_FAMILY.get(arg.op) == family
        depth = max(depth, (arg.depth if depth_of is None else depth_of(arg)) + (0 if same else 1))
    return depth


def derivative_height(op: str, args: tuple[Node, ...]) -> int:
    """About how deep SymPy's tree of this node's derivative nests, which bounds every recursive walk over it.

    Sums stay flat (their derivative is a sum), but the product rule nests:
    d(a·b) = a'·b + a·b' puts a sum inside a product at every factor, so a
    chain of n factors has a derivative 2n levels deep, however flat the
    product itself prints. The right side of a minus is a product too:
    x - (y - z) is x + (-1)·(y - z).
    """
    height = 0
    for index, arg in enumerate(args):
        if op in ("add", "sub") and arg.op in ("add", "sub") and not (op == "sub" and index == 1):
            step = 0
        elif op in ("mul", "div"):
            step = 2
        else:
            step = 1
        height = max(height, arg.height + step)
    return height


class GraphBuilder:
    """Interns nodes so structurally equal subexpressions are one node."""

    def __init__(self) -> None:
        self._nodes: dict[tuple, Node] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def make(
        self,
        op: str,
        args: tuple[Node, ...] = (),
        value: Any = None,
        shape: Shape = SCALAR,
        column: int | None = None,
    ) -> Node:
        key_value = sympy.srepr(value) if isinstance(value, sympy.Basic) else value
        key = (op, key_value, tuple(id(a) for a in args))
        node = self._nodes.get(key)
        if node is None:
            node = Node(op, args, value, shape, nesting_depth(op, args), column, derivative_height(op, args))
            self._nodes[key] = node
        return node


def topological_order(root: Node) -> list[Node]:
    """Every node reachable from `root`, arguments before users, left to right.

    Iterative, so a 20 000-term sum does not exhaust the Python stack.
    """
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for arg in reversed(node.args):
            if id(arg) not in seen:
                stack.append((arg, False))
    return order
