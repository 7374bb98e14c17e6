"""Matrix problems written twice: as `derive` text, and as SymPy's own matrix expressions.

SymPy differentiates `MatrixSymbol` expressions itself (`(x.T*A*x).diff(x)`,
`Trace(A*X*B).diff(X)`); the benchmarks time that beside `derive` on the
same problem, and compare the two answers at one random point, so a fast
wrong answer (SymPy's `log(Determinant(X)).diff(X)` is 0) or an unevaluated
one is reported as such, not as a speed.

Each SymPy form is built from the dimensions it is given, so the timed
attempt uses symbolic sizes (as `derive` does) and the comparison explicit
ones. Vectors are columns; SymPy lays a gradient out like its variable, so
answers are compared up to a transpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: sizes for the numeric comparison
SIZES = {"n": 3, "N": 4}


@dataclass(frozen=True)
class MatrixProblem:
    """One problem: what `derive` reads, and a builder of (SymPy expression, variable) from the sizes."""

    label: str
    text: str
    wrt: str
    shapes: dict[str, str]
    sympy_form: Callable[[dict], tuple] = field(repr=False)


def _symbols(dims, shapes):
    import sympy

    out = {}
    for name, shape in shapes.items():
        sizes = [dims[d] if not d.isdigit() else int(d) for d in shape.split(",")]
        out[name] = sympy.MatrixSymbol(name, sizes[0], sizes[1] if len(sizes) > 1 else 1)
    return out


def _vectors(dims):
    s = _symbols(dims, {"w": "n", "x": "n"})
    return s["w"], s["x"]


def _w_plus_x(dims):
    w, x = _vectors(dims)
    return w + x, w


def _w_times_x(dims):
    import sympy

    w, x = _vectors(dims)
    return sympy.HadamardProduct(w, x), w


def _w_over_x(dims):
    import sympy

    w, x = _vectors(dims)
    return sympy.HadamardProduct(w, sympy.HadamardPower(x, -1)), x


def _x_plus_z(dims):
    import sympy

    x, z = _symbols(dims, {"x": "n"})["x"], sympy.Symbol("z")
    return x + z * sympy.OneMatrix(dims["n"], 1), z


def _sum_x_z(dims):
    import sympy

    x, z = _symbols(dims, {"x": "n"})["x"], sympy.Symbol("z")
    return sympy.OneMatrix(1, dims["n"]) * x * z, x


def _dot(dims):
    w, x = _vectors(dims)
    return w.T * x, w


def _quadratic(dims):
    s = _symbols(dims, {"x": "n", "A": "n,n"})
    return s["x"].T * s["A"] * s["x"], s["x"]


def _least_squares(dims):
    s = _symbols(dims, {"X": "N,n", "w": "n", "y": "N"})
    residual = s["X"] * s["w"] - s["y"]
    return residual.T * residual, s["w"]


def _trace(dims):
    import sympy

    s = _symbols(dims, {"A": "n,n", "X": "n,n", "B": "n,n"})
    return sympy.Trace(s["A"] * s["X"] * s["B"]), s["X"]


def _det(dims):
    import sympy

    X = _symbols(dims, {"X": "n,n"})["X"]
    return sympy.Determinant(X), X


def _logdet(dims):
    import sympy

    X = _symbols(dims, {"X": "n,n"})["X"]
    return sympy.log(sympy.Determinant(X)), X


def _trace_inverse(dims):
    import sympy

    X = _symbols(dims, {"X": "n,n"})["X"]
    return sympy.Trace(sympy.Inverse(X)), X


def network_form(layers: int):
    """hᵢ = tanh(Wᵢhᵢ₋₁), J = (h_L − t)ᵀ(h_L − t), by W₁ (element-wise tanh through `applyfunc`)."""

    def build(dims):
        import sympy

        s = _symbols(dims, {"x": "n", "t": "n"})
        weights = [sympy.MatrixSymbol(f"W{i}", dims["n"], dims["n"]) for i in range(1, layers + 1)]
        h = s["x"]
        for weight in weights:
            h = (weight * h).applyfunc(sympy.tanh)
        return (h - s["t"]).T * (h - s["t"]), weights[0]

    return build


VECTORS = {"w": "n", "x": "n"}
PROBLEMS = [
    MatrixProblem("ex09 `w + x` by w", "w + x", "w", VECTORS, _w_plus_x),
    MatrixProblem("ex09 `w*x` by w", "w*x", "w", VECTORS, _w_times_x),
    MatrixProblem("ex09 `w/x` by x", "w/x", "x", VECTORS, _w_over_x),
    MatrixProblem("ex10 `x + z` by z", "x + z", "z", {"x": "n"}, _x_plus_z),
    MatrixProblem("ex11 `sum(x*z)` by x", "sum(x*z)", "x", {"x": "n"}, _sum_x_z),
    MatrixProblem("ex12 `dot(w, x)` by w", "dot(w, x)", "w", VECTORS, _dot),
    MatrixProblem("`x@A@x` by x", "x@A@x", "x", {"x": "n", "A": "n,n"}, _quadratic),
    MatrixProblem("`sum((X@w - y)**2)` by w", "sum((X@w - y)**2)", "w", {"X": "N,n", "w": "n", "y": "N"},
                  _least_squares),
    MatrixProblem("`trace(A@X@B)` by X", "trace(A@X@B)", "X", {"A": "n,n", "X": "n,n", "B": "n,n"}, _trace),
    MatrixProblem("`det(X)` by X", "det(X)", "X", {"X": "n,n"}, _det),
    MatrixProblem("`logdet(X)` by X", "logdet(X)", "X", {"X": "n,n"}, _logdet),
    MatrixProblem("`trace(inv(X))` by X", "trace(inv(X))", "X", {"X": "n,n"}, _trace_inverse),
]


def sympy_attempt(problem: MatrixProblem):
    """SymPy's own answer with symbolic sizes (what is timed)."""
    import sympy

    dims = {d: sympy.Symbol(d, integer=True, positive=True) for d in SIZES}
    expression, variable = problem.sympy_form(dims)
    return expression.diff(variable)


def verdict(problem: MatrixProblem, seed: int = 0) -> str:
    """How SymPy's answer compares with `derive`'s at one random point with explicit sizes."""
    import numpy as np

    from matcalc_sym.api import derive

    try:
        theirs = _sympy_numbers(problem, seed)
    except Exception as exc:  # noqa: BLE001 - any failure of SymPy's is the verdict
        return f"SymPy fails: {type(exc).__name__}"
    if isinstance(theirs, str):
        return theirs
    ours = np.atleast_2d(derive(problem.text, problem.wrt, shapes=problem.shapes).evaluate(_values(problem, seed)))
    for candidate in (theirs, theirs.T):
        if candidate.shape == ours.shape and np.allclose(candidate, ours, rtol=1e-9, atol=1e-12):
            return "agrees"
    return "**SymPy's answer is wrong**"


def _sympy_numbers(problem: MatrixProblem, seed: int):
    """SymPy's answer at the point as a 2-D array, or a word on why there is none."""
    import numpy as np
    import sympy

    expression, variable = problem.sympy_form(dict(SIZES))
    answer = expression.diff(variable)
    if answer.has(sympy.Derivative) or type(answer).__name__ == "ArrayDerivative":
        return "SymPy leaves it unevaluated"
    if not isinstance(answer, (sympy.MatrixExpr, sympy.MatrixBase, sympy.Expr)):
        return f"SymPy answers with a {type(answer).__name__} (not compared)"
    point = {symbol: _sympy_value(symbol, value) for symbol, value in _by_symbol(expression, problem, seed).items()}
    explicit = answer.xreplace(point).doit()
    return np.atleast_2d(np.array(sympy.Matrix(explicit) if explicit.is_Matrix else explicit, dtype=float))


def _values(problem: MatrixProblem, seed: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    values = {}
    for name in sorted({*problem.shapes, "z", "b"} & _names(problem)):
        shape = problem.shapes.get(name)
        size = () if shape is None else tuple(SIZES[d] if not d.isdigit() else int(d) for d in shape.split(","))
        values[name] = rng.uniform(0.5, 1.5, size) * rng.choice([-1.0, 1.0], size) if size else 0.7
    if "X" in values and values["X"].shape == (3, 3):
        values["X"] = values["X"] + 3 * np.eye(3)  # invertible, positive determinant (logdet)
    return values


def _names(problem: MatrixProblem) -> set[str]:
    import re

    return set(re.findall(r"[A-Za-z_]\w*", problem.text))


def _by_symbol(expression, problem: MatrixProblem, seed: int) -> dict:
    import sympy

    values = _values(problem, seed)
    symbols = expression.atoms(sympy.MatrixSymbol) | expression.atoms(sympy.Symbol)
    return {s: values[str(s)] for s in symbols if str(s) in values}


def _sympy_value(symbol, value):
    import numpy as np
    import sympy

    if isinstance(symbol, sympy.MatrixSymbol):
        return sympy.ImmutableMatrix(np.reshape(value, tuple(int(d) for d in symbol.shape)))
    return sympy.Float(value)
