"""Check my answer: a student's derivative, in the input language, against the derived one.

`derive(..., answer="A@x + A.T@x")` / `--answer`. The student's text is
computed the way `--check` computes the expression (`reference`: NumPy on
the text, nothing executed) at random points of the declared shapes, and
compared with the derivation's result. When they differ, the common
mistakes are tried one at a time, each a concrete hypothesis that must hold
at every point before it is reported:

* the wrong shape (both shapes said);
* the transpose of the right answer (a layout mix-up, each layout named);
* a constant factor (a missing 2, an extra 1/n);
* a missing or extra term of a sum (named, with the step that adds it);
* a missing chain-rule factor (named with the intermediate it belongs to);
* `*` and `@` confused, or a factor that needed a transpose (the column in
  the student's text).

The report ends with the step of the derivation where the two part ways.
"""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import sympy

from .errors import DeriveError, MatcalcError
from .render.terminal import input_text

POINTS = 4
TOLERANCE = 1e-6


@dataclass(frozen=True)
class AnswerReport:
    """What the comparison found: `correct`, and otherwise the diagnosis and where it parts ways."""

    answer: str
    correct: bool
    diagnosis: str
    step: int | None = None

    def line(self) -> str:
        if self.correct:
            return f"answer correct: {self.diagnosis}"
        where = f" (the derivation parts ways at step {self.step})" if self.step and \
            f"step {self.step}" not in self.diagnosis else ""
        return f"answer NOT correct: {self.diagnosis}{where}"

    def to_dict(self) -> dict:
        return {"answer": self.answer, "correct": self.correct, "diagnosis": self.diagnosis, "step": self.step}


def check_answer(derivation, answer: str, *, seed: int = 0) -> AnswerReport:
    """Compare `answer` (input language) with `derivation.result` and say what is wrong, if anything."""
    if not isinstance(answer, str) or not answer.strip():
        raise DeriveError("answer: write the derivative you expect, in the input language")
    if len(derivation.wrt) != 1:
        raise DeriveError("answer: compare one derivative at a time (one wrt variable)")
    if any(n.startswith("dJ/d") and n not in derivation.definitions for n in derivation.symbols):  # given, not named
        raise DeriveError("answer: the result is a vector-Jacobian product with an upstream gradient ∂J/∂y; "
                          "--answer compares gradients of scalar outputs and Jacobians")
    return _Comparison(derivation, answer, seed).report()


class _Comparison:
    def __init__(self, derivation, answer: str, seed: int) -> None:
        import numpy as np

        from .reference import Reference, reference_of

        self.d = derivation
        self.answer = answer
        problem = reference_of(derivation)
        self.student = Reference(answer, problem.shapes, problem.functions, problem.aliases)
        self._check_names(problem)
        self.points, self.sizes = _points(problem, derivation, np.random.default_rng(seed))
        self.expected = [self._result(values) for values in self.points]
        self.got = [self._student(self.student, values) for values in self.points]

    def _check_names(self, problem) -> None:
        """The answer goes through the parser first: its whitelist, its errors with a caret, its shapes."""
        from .parse import parse

        shapes = {name: ",".join(dims) for name, dims in problem.shapes.items()}
        try:
            used = self.student.variables()
        except MatcalcError as exc:
            raise DeriveError(f"answer: {getattr(exc, 'message', exc)}") from None
        known = set(problem.variables()) | set(self.d.wrt)
        unknown = sorted(set(used) - known)
        if unknown:  # before parsing: an unknown name would read as a scalar and fail as a shape error
            raise DeriveError(f"answer: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a variable "
                              f"of the problem (its variables: {', '.join(sorted(known))}); write the answer "
                              "in those")
        try:
            parse(self.answer, shapes)
        except MatcalcError as exc:
            raise DeriveError(f"answer: {getattr(exc, 'message', exc)}") from None

    def _result(self, values):
        import numpy as np

        return np.atleast_2d(np.asarray(self.d.evaluate(values), dtype=float))

    def _student(self, reference, values):
        import numpy as np

        from .reference import Undefined

        try:
            return np.asarray(reference(values), dtype=float)
        except Undefined:
            return None

    # -- the verdict --

    def report(self) -> AnswerReport:
        import numpy as np

        usable = [(e, g) for e, g in zip(self.expected, self.got) if g is not None and np.all(np.isfinite(e))]
        if not usable:
            return self._verdict(False, "your answer is not a finite real number at any point tried")
        shape = _shape_of(usable[0][1], usable[0][0])
        if shape is None:
            # `*` for `@`, or a left-out matrix factor (Aᵀ of least squares), changes the shape too
            fixed = self._operator() or self._matrix_factor()
            if fixed is not None:
                return self._verdict(False, *fixed)
            return self._verdict(False, f"your answer has shape {np.shape(usable[0][1])} but the derivative "
                                        f"has shape {usable[0][0].shape} (in {self._layout_words()})", self._last())
        if self._agrees(lambda e, g: _aligned(g, e)):
            note = " (a 1-D vector: the layout's orientation is not written)" if np.ndim(usable[0][1]) == 1 \
                and usable[0][0].size > 1 else ""
            return self._verdict(True, f"equal to the derivative at {len(usable)} random points{note}")
        for diagnose in (self._transposed, self._factor, self._terms, self._chain_factor, self._matrix_factor,
                         self._operator):
            found = diagnose()
            if found is not None:
                return self._verdict(False, *found)
        return self._verdict(False, "your answer differs from the derivative, and not by one of the common "
                                    "mistakes (layout, a constant factor, a term, a chain-rule factor, * vs @)",
                             self._last())

    def _verdict(self, correct: bool, diagnosis: str, step: int | None = None) -> AnswerReport:
        return AnswerReport(self.answer, correct, diagnosis, step)

    def _agrees(self, close) -> bool:
        """`close(expected, got)` holds at every usable point (and at one point at least)."""
        compared = 0
        for expected, got in zip(self.expected, self.got):
            if got is None or not _finite(expected):
                continue
            if not close(expected, got):
                return False
            compared += 1
        return compared > 0

    # -- the common mistakes --

    def _transposed(self):
        if not self._agrees(lambda e, g: _aligned(g, e.T)):
            return None
        return (f"your answer is the transpose of the derivative: a layout mix-up. The derivation uses "
                f"{self._layout_words()}; yours is written in the other layout", self._last())

    def _factor(self):
        import numpy as np

        ratios = []
        for expected, got in zip(self.expected, self.got):
            if got is None or not _finite(expected):
                continue
            if np.size(got) != expected.size:
                return None
            g = np.reshape(got, expected.shape)
            mask = np.abs(expected) > 1e-9
            ratios.extend(np.ravel(g[mask] / expected[mask]))
        if not ratios or np.ptp(ratios) > TOLERANCE * max(1.0, abs(np.mean(ratios))):
            return None
        factor = Fraction(float(np.mean(ratios))).limit_denominator(1000)
        if factor == 1 or abs(float(factor) - np.mean(ratios)) > 1e-9 * max(1.0, abs(float(factor))):
            return None
        for name, size in self.sizes.items():  # a dimension's size: a missing 1/n of a mean, or an extra n
            if factor == size:
                return f"your answer is {name} times the derivative (a missing 1/{name}?)", self._last()
            if factor == Fraction(1, size):
                return f"your answer is 1/{name} times the derivative (an extra 1/{name}?)", self._last()
        hint = f" (a missing factor {1 / factor}?)" if factor.numerator == 1 else ""
        return f"your answer is {factor} times the derivative{hint}", self._last()

    def _terms(self):
        terms = _terms(self.d.result)
        if len(terms) < 2:
            return None
        for term in terms:
            values = [self._value_of(term, values) for values in self.points]
            if self._agrees_with(lambda e, g, t: _aligned(g, e - t), values):
                return (f"your answer misses the term {input_text(term)} of the sum: x reaches the output "
                        "along more than one path, and the total-derivative rule adds every path's contribution",
                        self._step_adding())
            if self._agrees_with(lambda e, g, t: _aligned(g, e + t), values):
                return f"your answer has an extra term {input_text(term)}", self._step_adding()
        return None

    def _local_factors(self, extract):
        """(step number, step, factor, its value at each point) for each differentiate step whose local
        derivative `extract` finds a factor in."""
        for number, step in enumerate(self.d.steps, start=1):
            factor = extract(step.rhs) if step.kind == "differentiate" else None
            if factor is not None:
                substituted = self._substituted(factor)
                yield number, step, factor, [self._value_of(substituted, v) for v in self.points]

    def _chain_factor(self):
        import numpy as np

        def missing(e, g, f):
            g = np.reshape(g, e.shape) if np.size(g) == e.size else None
            if g is None or f is None:
                return False
            f = np.asarray(f, dtype=float)
            for candidate in (f, np.reshape(f, (1, -1)) if f.ndim == 2 and f.shape[1] == 1 else f):
                try:
                    if np.allclose(g * candidate, e, rtol=TOLERANCE, atol=TOLERANCE):
                        return not np.allclose(candidate, 1.0)
                except ValueError:
                    continue
            return False

        for number, step, _, values in self._local_factors(_local_factor):
            if self._agrees_with(missing, values):
                return (f"your answer misses the chain-rule factor {input_text(step.rhs)} = "
                        f"{input_text(step.lhs)} (step {number}, rule '{step.rule}')", number)
        return None

    def _matrix_factor(self):
        """A local derivative that is a matrix (A of u = A@x, Wᵀ of a layer's backward step), left out
        of the chain: the derivative is the answer times it, on either side, transposed or not."""
        for number, step, factor, values in self._local_factors(_matrix_local_factor):
            if self._agrees_with(lambda e, g, f: _times_matrix(g, f, e), values):
                return (f"your answer misses the chain-rule factor {input_text(factor)}, from "
                        f"{input_text(step.lhs)} = {input_text(step.rhs)} (step {number}, rule '{step.rule}'): "
                        "a matrix factor multiplies the rest of the chain", number)
        return None

    def _operator(self):
        """One `*` that should be `@` (or the reverse), or one name that needed a transpose."""
        from .reference import Reference

        tree = ast.parse(self.answer.replace("^", "**").strip(), mode="eval")
        for node in ast.walk(tree):
            for mutation, words in _mutations(node):
                text = ast.unparse(mutation(tree))
                variant = Reference(text, self.student.shapes, self.student.functions, self.student.aliases)
                try:
                    got = [self._student(variant, v) for v in self.points]
                except (MatcalcError, ValueError, TypeError):
                    continue
                if any(g is None for g in got):
                    continue
                if all(_aligned(g, e) for g, e in zip(got, self.expected) if _finite(e)):
                    return f"{words} at column {getattr(node, 'col_offset', 0) + 1}: {text} is the derivative", \
                        self._last()
        return None

    # -- helpers --

    def _agrees_with(self, close, values) -> bool:
        compared = 0
        for expected, got, value in zip(self.expected, self.got, values):
            if got is None or value is None or not _finite(expected):
                continue
            if not close(expected, got, value):
                return False
            compared += 1
        return compared > 0

    def _value_of(self, expr, values):
        import numpy as np

        try:
            if not isinstance(expr, sympy.Basic) or not expr.free_symbols and not isinstance(expr, sympy.MatrixExpr):
                return np.atleast_2d(np.asarray(float(expr)))
            return np.atleast_2d(np.asarray(dataclasses.replace(self.d, result=expr, gradients={}).evaluate(values),
                                            dtype=float))
        except (MatcalcError, TypeError, ValueError):
            return None

    def _substituted(self, expr):
        """A step's expression in the inputs: every intermediate replaced by its definition."""
        definitions = {s.lhs: s.rhs for s in self.d.steps if s.kind == "introduce"}
        for _ in range(len(definitions) + 1):
            replaced = expr.xreplace(definitions)
            if replaced == expr:
                break
            expr = replaced
        return expr

    def _step_adding(self) -> int | None:
        for number, step in enumerate(self.d.steps, start=1):
            if step.kind == "combine" and step.rule in ("total-derivative chain rule", "adjoint-sum"):
                return number
        return self._last()

    def _last(self) -> int | None:
        numbers = [i for i, s in enumerate(self.d.steps, start=1) if s.kind in ("combine", "substitute")]
        return numbers[-1] if numbers else None

    def _layout_words(self) -> str:
        if self.d.layout == "numerator":
            return "numerator layout, where the derivative of a scalar by a vector is a row and by a p×q matrix q×p"
        return "denominator layout, where the derivative is shaped like the variable"


def _points(problem, derivation, rng) -> tuple[list[dict], dict[str, int]]:
    """Random values of every input, and the sizes given to the dimensions (the same at every point)."""
    from .stepcheck import _draw

    inputs = dict(problem.variables())
    for name in derivation.wrt:
        inputs.setdefault(name, tuple(derivation.declared_shapes.get(name, ())))
    sizes: dict[str, int] = {}
    for shape in inputs.values():
        for dim in shape:
            if not dim.isdigit():
                sizes.setdefault(dim, int(rng.integers(2, 4)))
    points = []
    for _ in range(POINTS):
        point = {}
        for name, shape in inputs.items():
            dims = tuple(int(d) if d.isdigit() else sizes[d] for d in shape)
            point[name] = _draw(rng, dims) if dims else float(_draw(rng))
        points.append(point)
    return points, sizes


def _finite(array) -> bool:
    import numpy as np

    return bool(np.all(np.isfinite(array)))


def _shape_of(got, expected):
    """The student's value as the derivative's shape: the same, a 1-D vector of its length, a scalar
    for a 1×1 derivative, or its transpose's shape; None when no reading fits."""
    import numpy as np

    if np.shape(got) == expected.shape or np.size(got) == expected.size and (np.ndim(got) <= 1):
        return expected.shape
    if np.ndim(got) == 2 and np.shape(got) == expected.T.shape:
        return expected.T.shape
    return None


def _aligned(got, expected) -> bool:
    """Equal entry by entry; a 1-D (or scalar) answer is read in the derivative's own orientation."""
    import numpy as np

    if np.shape(got) != expected.shape:
        if np.ndim(got) > 1 or np.size(got) != expected.size:
            return False
        got = np.reshape(got, expected.shape)
    scale = np.maximum(1.0, np.abs(expected))
    return bool(np.all(np.abs(got - expected) <= TOLERANCE * scale))


def _terms(expr) -> list:
    """The top-level terms of a result: of a sum, of a transposed sum, of an element-wise sum."""
    from .arrays import Elementwise

    if isinstance(expr, (sympy.Add, sympy.MatAdd)):
        return list(expr.args)
    if isinstance(expr, sympy.Transpose):
        return [sympy.Transpose(t) for t in _terms(expr.arg)] if len(_terms(expr.arg)) > 1 else [expr]
    if isinstance(expr, Elementwise) and isinstance(expr.body, sympy.Add):
        return [Elementwise(t, *expr.shape) for t in expr.body.args]
    if isinstance(expr, sympy.MatMul):  # xᵀ(A + Aᵀ): the result reads factored, the paths are its terms
        sums = [i for i, f in enumerate(expr.args) if isinstance(f, sympy.MatAdd)]
        if len(sums) == 1:
            i = sums[0]
            return [sympy.MatMul(*expr.args[:i], t, *expr.args[i + 1:]) for t in expr.args[i].args]
    return [expr]


def _local_factor(rhs):
    """The factor a step contributes to the chain: a scalar, or an element-wise array (without an
    upstream adjoint), which a student may leave out."""
    from .adjoint import AdjointMatrix, AdjointScalar
    from .arrays import Diag, Elementwise

    if isinstance(rhs, Diag):
        rhs = rhs.vector
    adjoints = [s for s in sympy.preorder_traversal(rhs) if isinstance(s, (AdjointMatrix, AdjointScalar))]
    if adjoints:
        if not isinstance(rhs, Elementwise):
            return None
        from .arrays import Elem

        body = rhs.body.xreplace({Elem(a): 1 for a in adjoints if isinstance(a, AdjointMatrix)})
        body = body.xreplace({a: 1 for a in adjoints if isinstance(a, AdjointScalar)})
        rhs = Elementwise(body, *rhs.shape)
    if isinstance(rhs, (sympy.Number, int)) and rhs in (0, 1, -1):
        return None
    if isinstance(rhs, sympy.MatrixExpr) and not isinstance(rhs, Elementwise):
        return None
    return rhs


def _matrix_local_factor(rhs):
    """The matrix a step's local derivative multiplies the chain by: the step's own matrix (A of
    ∂u/∂x = A), or a backward step's product without its upstream adjoint (Wᵀ of Wᵀ·∂J/∂u); None for
    element-wise factors (`_local_factor` has those), an identity, or anything else."""
    from .adjoint import AdjointMatrix
    from .arrays import Diag, Elementwise

    if not isinstance(rhs, sympy.MatrixExpr) or isinstance(rhs, (Elementwise, Diag, sympy.Identity)):
        return None
    if isinstance(rhs, sympy.MatMul):
        kept = [f for f in rhs.args if not isinstance(f, AdjointMatrix)]
        if len(kept) == len(rhs.args):
            return rhs
        if len(kept) != len(rhs.args) - 1 or not kept or any(isinstance(f, Elementwise) for f in kept):
            return None
        factor = kept[0] if len(kept) == 1 else sympy.MatMul(*kept)
        return None if isinstance(factor, (sympy.Identity, sympy.Number)) else factor
    adjoints = [s for s in sympy.preorder_traversal(rhs) if isinstance(s, AdjointMatrix)]
    return None if adjoints else rhs


def _times_matrix(got, factor, expected) -> bool:
    """Whether `expected` is `got` times the matrix `factor`, on either side, `factor` transposed or not
    (a vector answer read as a row or a column); `factor` a true matrix, not an identity."""
    import numpy as np

    if got is None or factor is None:
        return False
    factor = np.atleast_2d(np.asarray(factor, dtype=float))
    if 1 in factor.shape or factor.shape[0] == factor.shape[1] and np.allclose(factor, np.eye(factor.shape[0])):
        return False  # a vector factor makes an outer product: the answer's shape is the mistake to name
    got = np.asarray(got, dtype=float)
    readings = [got] if got.ndim == 2 and 1 not in got.shape else [np.reshape(got, (1, -1)), np.reshape(got, (-1, 1))]
    for g in readings:
        for f in (factor, factor.T):
            for product in (g @ f if g.shape[1] == f.shape[0] else None, f @ g if f.shape[1] == g.shape[0] else None):
                if product is not None and _aligned(product, expected):
                    return True
    return False


def _mutations(node):
    """Single edits of the answer's syntax tree: `*` ↔ `@`, or a name transposed (x → x.T)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.MatMult)):
        swapped = ast.MatMult if isinstance(node.op, ast.Mult) else ast.Mult
        words = "`*` (element-wise) should be `@` (matrix product)" if swapped is ast.MatMult \
            else "`@` (matrix product) should be `*` (element-wise)"

        def swap(tree, node=node, swapped=swapped):
            import copy

            copied = copy.deepcopy(tree)
            for candidate in ast.walk(copied):
                if isinstance(candidate, ast.BinOp) and ast.dump(candidate) == ast.dump(node):
                    candidate.op = swapped()
                    break
            return copied

        yield swap, words
    if isinstance(node, ast.Name):
        def transposed(tree, node=node):
            import copy

            copied = copy.deepcopy(tree)

            class Transposer(ast.NodeTransformer):
                done = False

                def visit_Name(self, name):
                    if not self.done and name.id == node.id and name.col_offset == node.col_offset:
                        self.done = True
                        return ast.Attribute(value=name, attr="T", ctx=ast.Load())
                    return name

            return ast.fix_missing_locations(Transposer().visit(copied))

        yield transposed, f"{node.id} should be transposed ({node.id}.T)"
