"""Shapes as NumPy sees them: a tuple of dimensions, () for a scalar.

Dimensions are SymPy integers or positive integer symbols (`n`), so a shape can
stay symbolic through a derivation and be instantiated later.
"""

from __future__ import annotations

import re

import sympy

from .errors import ShapeError

Shape = tuple[sympy.Expr, ...]
SCALAR: Shape = ()
_DIMENSION = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*|[0-9]{1,6})$")


def dimension(text: str) -> sympy.Expr:
    """A dimension from its spelling: `n` is a positive integer symbol, `3` a number."""
    text = text.strip()
    if not _DIMENSION.match(text):
        raise ShapeError(f"bad dimension {text!r}: use a name like n or a whole number")
    if text.isdigit():
        value = int(text)
        if value < 1:
            raise ShapeError(f"bad dimension {text!r}: dimensions are at least 1")
        return sympy.Integer(value)
    return sympy.Symbol(text, integer=True, positive=True)


def parse_shape(text: str) -> Shape:
    """`"n"` → (n,), `"m,n"` → (m, n), `""` or `"()"` → scalar."""
    text = text.strip().strip("()").strip()
    if not text:
        return SCALAR
    parts = [p for p in text.split(",")]
    if len(parts) > 2:
        raise ShapeError(f"shape {text!r} has {len(parts)} dimensions; at most 2 are supported")
    return tuple(dimension(p) for p in parts)


def show(shape: Shape) -> str:
    """NumPy's spelling: (), (n,), (m, n)."""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def show_math(shape: Shape) -> str:
    """The paper's spelling: 1, n, m×n."""
    if not shape:
        return "1"
    return "×".join(str(d) for d in shape)


def broadcast(left: Shape, right: Shape, operator: str) -> Shape:
    """NumPy broadcasting: align on the right; equal dimensions or a 1 stretch."""
    result: list[sympy.Expr] = []
    for i in range(1, max(len(left), len(right)) + 1):
        a = left[-i] if i <= len(left) else sympy.Integer(1)
        b = right[-i] if i <= len(right) else sympy.Integer(1)
        if a == b or b == 1:
            result.append(a)
        elif a == 1:
            result.append(b)
        else:
            raise ShapeError(
                f"shapes {show(left)} and {show(right)} do not broadcast together for '{operator}'"
            )
    return tuple(reversed(result))


def matmul(left: Shape, right: Shape) -> Shape:
    """Shape of `left @ right`, with NumPy's rules for 1-D operands."""
    if not left or not right:
        raise ShapeError(
            f"'@' needs arrays, got shapes {show(left)} and {show(right)}; use '*' for scalars"
        )
    inner_left = left[-1]
    inner_right = right[0] if len(right) == 1 else right[-2]
    if inner_left != inner_right:
        raise ShapeError(
            f"shapes {show(left)} and {show(right)} do not fit for '@' "
            f"({inner_left} ≠ {inner_right})"
        )
    return left[:-1] + right[:-2] + right[-1:] if len(right) == 2 else left[:-1]


def transpose(shape: Shape) -> Shape:
    return tuple(reversed(shape))


def match_signature(signature: str, arg_shapes: list[Shape]) -> Shape | None:
    """The output shape if the operands fit a gufunc-style signature like (n,n)->(), else None."""
    inputs, _, output = signature.partition("->")
    parts = re.findall(r"\(([^)]*)\)", inputs)
    if len(parts) != len(arg_shapes):
        return None
    bound: dict[str, sympy.Expr] = {}
    for part, shape in zip(parts, arg_shapes):
        names = [d.strip() for d in part.split(",") if d.strip()]
        if len(names) != len(shape):
            return None
        for name, dim in zip(names, shape):
            if bound.setdefault(name, dim) != dim:
                return None
    out = [d.strip() for d in output.strip().strip("()").split(",") if d.strip()]
    return tuple(bound[d] for d in out)


def describe_signatures(signatures) -> str:
    words = {"(n,n)": "a square matrix (n,n)", "(n)": "a vector (n,)", "(m,n)": "a matrix (m,n)",
             "(m),(n)": "two vectors"}
    return " or ".join(words.get(sig.partition("->")[0], sig.partition("->")[0]) for sig in signatures)


def result_shape(op: str, arg_shapes: list[Shape], table, params: tuple = ()) -> Shape:
    """The result shape of `op` on operands of these shapes (NumPy semantics); `params` are its
    keyword arguments, (name, value) pairs such as (("axis", 1), ("keepdims", False))."""
    from .operations import operation

    declared = operation(op)
    if declared is not None and declared.shape is not None:
        return declared.shape(list(arg_shapes), dict(params))
    symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}.get(op, op)
    if op == "matmul":
        return matmul(*arg_shapes)
    if op == "transpose":
        return transpose(arg_shapes[0])
    if op == "vector":
        if any(s != SCALAR for s in arg_shapes):
            raise ShapeError("a bracketed list must hold scalar expressions")
        return (sympy.Integer(len(arg_shapes)),)
    spec = table.function(op)
    if spec is not None and spec.kind == "reduction":
        return SCALAR
    if spec is not None and spec.kind == "matrix":
        for signature in spec.signatures:
            shape = match_signature(signature, arg_shapes)
            if shape is not None:
                return shape
        got = ", ".join(show(s) for s in arg_shapes)
        raise ShapeError(f"{op}() needs {describe_signatures(spec.signatures)}, got shape {got}")
    result: Shape = SCALAR
    for s in arg_shapes:
        result = broadcast(result, s, symbol)
    return result
