"""A derived expression written back in the input language, as NumPy reads it.

Second derivatives differentiate a gradient with the same machinery as the
first: the gradient is written as text (`A.T@x + A@x`, `@` for matrix
products, `*` element-wise) and parsed again by the project's own parser.
That also proves the printed result can be pasted back.

The one subtlety is NumPy's 1-D arrays: the derivation stores a 1-D vector
x as an n×1 column, but in the text `x` is 1-D, where `x @ y.T` is a dot
product, not an outer product. So every subexpression carries the number of
NumPy dimensions it has, and a column times a row of 1-D vectors is written
`outer(a, b)`. Anything the input language has no spelling for is refused
with `NotWritable` (never printed approximately).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import sympy
from sympy.core.relational import Relational

from .brackets import balanced
from .errors import DeriveError

#: SymPy function classes spelled differently in the input language
_SPELLED = {"Abs": "abs", "Max": "max", "Min": "min"}
_RELATIONS = {">": ">", ">=": ">=", "<": "<", "<=": "<="}


class NotWritable(DeriveError):
    """A derived expression the input language cannot write (so it cannot be differentiated again)."""


def input_text(expr: sympy.Basic, dims: Mapping[str, int], functions: frozenset[str] = frozenset()) -> str:
    """`expr` in the input language. `dims` is each array name's number of NumPy dimensions (1 or 2);
    `functions` are the function names the parser knows (a call outside them is refused)."""
    return _Writer(dims, functions).text(expr)


class _Writer:
    def __init__(self, dims: Mapping[str, int], functions: frozenset[str]) -> None:
        self.dims = dict(dims)
        self.functions = functions

    # -- NumPy dimensions ----------------------------------------------------

    def ndim(self, expr) -> int:
        """How many dimensions NumPy gives `expr` as it is written (0 scalar, 1 vector, 2 matrix)."""
        from .arrays import Diag, Elem, Elementwise

        if not isinstance(expr, sympy.MatrixExpr):
            return 0
        if isinstance(expr, sympy.MatrixSymbol):
            return self.dims.get(expr.name, 2)
        if isinstance(expr, sympy.Transpose):
            return self.ndim(expr.arg)
        if isinstance(expr, (sympy.Identity, Diag, sympy.Inverse, sympy.MatPow)):
            return 2
        if isinstance(expr, sympy.OneMatrix | sympy.ZeroMatrix):
            return 1 if 1 in expr.shape else 2
        if isinstance(expr, sympy.MatMul):
            return self._matmul_ndim([a for a in expr.args if isinstance(a, sympy.MatrixExpr)])
        if isinstance(expr, sympy.MatAdd | sympy.HadamardProduct):
            return max(self.ndim(a) for a in expr.args)
        if isinstance(expr, Elementwise):
            return max((self.ndim(a) for a in _outer_elements(expr.body, Elem)), default=0)
        return 1 if 1 in expr.shape else 2

    def _matmul_ndim(self, factors: list) -> int:
        current = self.ndim(factors[0])
        for factor in factors[1:]:
            right = self.ndim(factor)
            current = {(1, 1): 0, (1, 2): 1, (2, 1): 1}.get((current, right), 2)
        return current

    # -- text ----------------------------------------------------------------

    def text(self, expr) -> str:
        method = getattr(self, "_" + type(expr).__name__, None)
        if method is not None:
            return method(expr)
        from .arrays import Diag, Elem, Elementwise, Ones, ReduceSum
        from .operations.calls import ArrayCall, ScalarCall

        if isinstance(expr, Elem):
            return self.text(expr.array)
        if isinstance(expr, Elementwise):
            return self.text(expr.body)
        if isinstance(expr, (ArrayCall, ScalarCall)):
            return self._call(expr)
        if isinstance(expr, Diag):
            return f"diag({self.text(expr.vector)})"
        if isinstance(expr, ReduceSum):
            return f"sum({self.text(expr.array)})"
        if isinstance(expr, Ones):
            return self._ones(expr)
        if isinstance(expr, sympy.Function):
            return self._function(expr)
        declared = _declared_call(expr)
        if declared is not None:
            return f"{declared}({', '.join(self.text(a) for a in expr.args)})"
        raise NotWritable(f"the input language has no spelling for {type(expr).__name__} "
                          f"({sympy.sstr(expr)[:80]})")

    def wrapped(self, expr) -> str:
        """`expr` as an operand: parenthesized unless it is a name, a number or a call."""
        text = self.text(expr)
        return text if _atomic(text) else f"({text})"

    def _Integer(self, expr) -> str:
        return str(expr)

    _Zero = _One = _NegativeOne = _Integer

    def _Rational(self, expr) -> str:
        return f"{expr.p}/{expr.q}"

    _Half = _Rational

    def _Float(self, expr) -> str:
        return repr(float(expr))

    def _Pi(self, expr) -> str:
        return "pi"

    def _Exp1(self, expr) -> str:
        return "E"

    def _Symbol(self, expr) -> str:
        return expr.name

    _Dummy = _Symbol

    def _MatrixSymbol(self, expr) -> str:
        return expr.name

    def _BooleanTrue(self, expr) -> str:
        raise NotWritable("a bare condition has no value in the input language")

    def _Add(self, expr) -> str:
        """Positive terms first, as a teacher writes a sum (softmax(z) - y, not -y + softmax(z))."""
        terms = sorted(expr.args, key=lambda term: bool(term.could_extract_minus_sign()))
        text = self.text(terms[0])
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                text += " - " + self._term(-term)
            else:
                text += " + " + self._term(term)
        return text

    def _term(self, term) -> str:
        from .arrays import Elem

        body = self.text(term)
        inner = term.array if isinstance(term, Elem) else term
        return f"({body})" if isinstance(inner, sympy.Add | sympy.MatAdd) else body

    def _Mul(self, expr) -> str:
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient == -1:
            return "-" + self._factor(rest)
        if coefficient.is_negative:  # unary minus binds tighter than *, / and @: -2*b is (-2)*b
            return "-" + self._Mul(sympy.Mul(-coefficient, rest, evaluate=False))
        numerator, denominator = [], []
        for factor in sympy.Mul.make_args(expr):
            base, exponent = factor.as_base_exp()
            if isinstance(factor, sympy.Rational) and factor.q != 1:
                numerator.append(sympy.Integer(factor.p)) if factor.p != 1 else None
                denominator.append(sympy.Integer(factor.q))
            elif isinstance(factor, sympy.Pow) and exponent.is_number and exponent < 0:
                denominator.append(base ** -exponent)
            else:
                numerator.append(factor)
        top = "*".join(self._factor(f) for f in numerator) or "1"
        if not denominator:
            return top
        bottom = "*".join(self._factor(f) for f in denominator)
        return f"{top}/({bottom})" if len(denominator) > 1 else f"{top}/{self._factor(denominator[0])}"

    def _factor(self, factor) -> str:
        from .arrays import Elem

        if isinstance(factor, Elem):
            factor = factor.array
        if isinstance(factor, sympy.Add | sympy.MatAdd | sympy.Mul | sympy.MatMul) or (
                isinstance(factor, sympy.Number) and factor < 0):
            return f"({self.text(factor)})"
        return self.wrapped(factor) if isinstance(factor, sympy.Pow) else self.text(factor)

    def _Pow(self, expr) -> str:
        base, exponent = expr.args
        if exponent == sympy.S.Half:
            return f"sqrt({self.text(base)})"
        if exponent.is_number and exponent < 0:
            return f"1/{self._factor(base ** -exponent)}"
        if base == sympy.E:
            return f"exp({self.text(exponent)})"
        return f"{self._power_base(base)}**{self._power_base(exponent)}"

    def _power_base(self, expr) -> str:
        from .arrays import Elem

        if isinstance(expr, Elem):
            expr = expr.array
        text = self.text(expr)
        return text if _atomic(text) else f"({text})"

    def _function(self, expr) -> str:
        name = type(expr).__name__
        name = _SPELLED.get(name, name)
        if self.functions and name not in self.functions:
            raise NotWritable(f"the input language has no function {name!r}")
        return f"{name}({', '.join(self.text(a) for a in expr.args)})"

    def _Max(self, expr) -> str:
        return self._pairwise("max", expr.args)

    def _Min(self, expr) -> str:
        return self._pairwise("min", expr.args)

    def _pairwise(self, name: str, args) -> str:
        """max(a, b, c) as max(a, max(b, c)): the input language's max takes two arguments."""
        text = self.text(args[-1])
        for arg in reversed(args[:-1]):
            text = f"{name}({self.text(arg)}, {text})"
        return text

    def _exp(self, expr) -> str:
        return f"exp({self.text(expr.args[0])})"

    def _Piecewise(self, expr) -> str:
        """where(c1, a, where(c2, b, c)), NumPy's case split entry by entry."""
        *cases, (last, condition) = expr.args
        if condition is not sympy.true:
            raise NotWritable("a case split without an 'otherwise' case")
        text = self.text(last)
        for value, case in reversed(cases):
            text = f"where({self._condition(case)}, {self.text(value)}, {text})"
        return text

    def _condition(self, condition) -> str:
        if isinstance(condition, Relational) and condition.rel_op in _RELATIONS:
            return f"{self.text(condition.lhs)} {_RELATIONS[condition.rel_op]} {self.text(condition.rhs)}"
        raise NotWritable(f"the input language has no spelling for the condition {condition}")

    # -- arrays --------------------------------------------------------------

    def _Transpose(self, expr) -> str:
        if self.ndim(expr.arg) < 2:
            return self.text(expr.arg)  # .T of a 1-D array is the same array
        inner = expr.arg
        if isinstance(inner, sympy.Inverse):
            return f"inv({self.text(inner.arg)}).T"
        return f"{self.wrapped(inner)}.T"

    def _MatAdd(self, expr) -> str:
        return self._Add(expr)

    def _MatMul(self, expr) -> str:
        scalars = [a for a in expr.args if not isinstance(a, sympy.MatrixExpr)]
        arrays = [a for a in expr.args if isinstance(a, sympy.MatrixExpr)]
        coefficient = sympy.Mul(*scalars)
        text, ndim, shape = self._operand(arrays[0]), self.ndim(arrays[0]), arrays[0].shape
        for factor in arrays[1:]:
            right, right_ndim = self._operand(factor), self.ndim(factor)
            column, row = shape[1] == 1 and shape[0] != 1, factor.shape[0] == 1 and factor.shape[1] != 1
            if column and row and 1 in (ndim, right_ndim):  # a column times a row: NumPy's 1-D @ 1-D is a dot
                text, ndim = f"outer({self._bare(text)}, {self._bare(right)})", 2
            else:
                text = f"{text} @ {right}"
                ndim = {(1, 1): 0, (1, 2): 1, (2, 1): 1}.get((ndim, right_ndim), 2)
            shape = (shape[0], factor.shape[1])
        if coefficient == 1:
            return text
        wrapped = text.startswith("(") and text.endswith(")") and balanced(text[1:-1])
        operand = text if wrapped or _atomic(text) or " @ " not in text else f"({text})"
        if coefficient == -1:
            return f"-{operand}"
        return f"{self._factor(coefficient)}*{operand}"

    def _operand(self, expr) -> str:
        if isinstance(expr, sympy.MatMul | sympy.MatAdd) or (
                hasattr(expr, "body") and isinstance(expr.body, sympy.Add | sympy.Mul | sympy.Pow)):
            return f"({self.text(expr)})"
        return self.wrapped(expr)

    @staticmethod
    def _bare(text: str) -> str:
        return text[1:-1] if text.startswith("(") and text.endswith(")") and balanced(text[1:-1]) else text

    def _HadamardProduct(self, expr) -> str:
        return "*".join(self._operand(a) for a in expr.args)

    def _Inverse(self, expr) -> str:
        return f"inv({self.text(expr.arg)})"

    def _Determinant(self, expr) -> str:
        return f"det({self.text(expr.arg)})"

    def _Trace(self, expr) -> str:
        return f"trace({self.text(expr.arg)})"

    def _MatPow(self, expr) -> str:
        base, exponent = expr.args
        if exponent == -1:
            return f"inv({self.text(base)})"
        if exponent.is_Integer and exponent >= 0:
            return f"matrix_power({self.text(base)}, {exponent})"
        if exponent.is_Integer:
            return f"matrix_power(inv({self.text(base)}), {-exponent})"
        raise NotWritable(f"the input language has no matrix power {exponent}")

    def _Identity(self, expr) -> str:
        return f"eye({self.text(expr.shape[0])})"

    def _ones(self, expr) -> str:
        rows, cols = expr.shape
        if cols == 1 or rows == 1:
            return f"ones({self.text(rows if cols == 1 else cols)})"
        return f"outer(ones({self.text(rows)}), ones({self.text(cols)}))"

    _OneMatrix = _ones

    def _ZeroMatrix(self, expr) -> str:
        return f"0*{self._ones(expr)}"

    def _call(self, expr) -> str:
        parts = [self.text(a) for a in expr.operands] + [f"{k}={v!r}" for k, v in expr._shown_params()]
        return f"{expr.shown_name}({', '.join(parts)})"


def _declared_call(expr) -> str | None:
    """The input language's name for a declared operation's class (norm(x) for Norm), if it has one."""
    from .operations.registry import of
    from .ruletable import default_table

    declared = of(expr)
    if declared is None or declared.keywords:
        return None
    name = declared.shown_as or declared.name
    return name if default_table().function(name) is not None else None


def _outer_elements(body, kind) -> list:
    """The arrays whose elements `body` reads, not those inside them."""
    found, stack = [], [body]
    while stack:
        node = stack.pop()
        if isinstance(node, kind):
            found.append(node.array)
        else:
            stack.extend(node.args)
    return found


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.T)?|[0-9]+")


def _atomic(text: str) -> bool:
    """A name, a whole number, or a call (each perhaps with .T): an operand that needs no parentheses."""
    if _NAME.fullmatch(text):
        return True
    body = text[:-2] if text.endswith(".T") else text
    return _balanced_call(body)




def _balanced_call(text: str) -> bool:
    """`name(...)` whose first parenthesis closes at the very end: an operand needing no parentheses."""
    head, _, rest = text.partition("(")
    if not rest or not head.isidentifier() or not text.endswith(")"):
        return False
    depth = 1
    for character in rest[:-1]:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth == 0:
            return False
    return True
