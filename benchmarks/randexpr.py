"""Seeded random scalar expressions with an exact node count, for the benchmarks.

A node is an operator application, a function call or a leaf, counted in the
tree as written (before shared subexpressions are merged). Trees are balanced
so that depth grows like log n and stays far below the parser's nesting bound;
the same tree is returned as source text for `derive` and as a SymPy
expression for `sympy.diff`, built with SymPy's constructors, never by parsing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BINARY = ("+", "-", "*", "/")
UNARY = ("sin", "cos", "exp", "log", "tanh")
LEAVES = ("x", "y")


@dataclass(frozen=True)
class Tree:
    """One node of a generated expression: an operator or function with its children, or a leaf."""

    op: str
    args: tuple[Tree, ...] = ()

    def size(self) -> int:
        return 1 + sum(a.size() for a in self.args)

    def depth(self) -> int:
        return 1 + max((a.depth() for a in self.args), default=0)

    def text(self) -> str:
        if not self.args:
            return self.op
        if self.op in UNARY:
            return f"{self.op}({self.args[0].text()})"
        left, right = (a.text() for a in self.args)
        return f"({left}){self.op}({right})" if self.op != "**" else f"({left})**{right}"

    def sympy(self):
        import sympy

        if not self.args:
            return sympy.Symbol(self.op) if self.op.isalpha() else sympy.Integer(int(self.op))
        args = [a.sympy() for a in self.args]
        if self.op in UNARY:
            return getattr(sympy, self.op)(args[0])
        a, b = args
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                "/": lambda: a / b, "**": lambda: a**b}[self.op]()


def random_tree(nodes: int, seed: int = 0) -> Tree:
    """A tree of exactly `nodes` nodes over x and y, the same for the same seed."""
    if nodes < 1:
        raise ValueError("an expression has at least one node")
    return _grow(nodes, random.Random(seed))


def _grow(n: int, rng: random.Random) -> Tree:
    if n == 1:
        return Tree(rng.choice(LEAVES))
    if n == 2:
        return Tree(rng.choice(UNARY), (Tree(rng.choice("xy")),))
    roll = rng.random()
    if roll < 0.15:
        return Tree(rng.choice(UNARY), (_grow(n - 1, rng),))
    if roll < 0.25:  # an integer power: the operator, its base and the exponent
        return Tree("**", (_grow(n - 2, rng), Tree(rng.choice(("2", "3")))))
    rest = n - 1
    left = max(1, min(rest - 1, rest // 2 + rng.randint(-rest // 8, rest // 8)))
    op = rng.choice(BINARY)
    if op == "*" and rest - left == 1 and rng.random() < 0.5:  # a constant factor, never 2 - 2
        return Tree(op, (_grow(left, rng), Tree(rng.choice(("2", "3")))))
    a, b = _grow(left, rng), _grow(rest - left, rng)
    if a == b and op in "-/":  # x - x and x/x are constants, and a sum of them can divide by zero
        op = "+" if op == "-" else "*"
    return Tree(op, (a, b))


def random_expression(nodes: int, seed: int = 0) -> str:
    """Source text of `random_tree(nodes, seed)`, in the language `derive` reads."""
    return random_tree(nodes, seed).text()
