"""Code export: a derivation as a self-contained NumPy module.

`to_numpy(derivation)` writes `f_and_grad(**inputs)` (the value and the
derivative, with shape assertions on the inputs) and `check_gradient()`
(central finite differences on random inputs of the declared shapes). The
printer is SymPy's NumPy printer with one method per class of ours; an
element-wise body prints as NumPy's own broadcasting arithmetic, so no
generalized Jacobian is ever built.
"""

from __future__ import annotations

import re

import sympy
from sympy.printing.numpy import NumPyPrinter

from ..adjoint import AdjointMatrix, AdjointScalar
from ..arrays import is_array


def identifier(name: str) -> str:
    """A Python name for a symbol name (dJ/dc → dJ_dc)."""
    text = re.sub(r"\W", "_", name)
    return text if text.isidentifier() and not text[0].isdigit() else f"v_{text}"


class _Printer(NumPyPrinter):
    """NumPy code for the package's expression classes."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": True})

    def _print_Symbol(self, expr):
        return identifier(expr.name)

    def _print_MatrixSymbol(self, expr):
        return identifier(expr.name)

    def _print_Elem(self, expr):
        return f"({self._print(expr.array)})"

    def _print_Elementwise(self, expr):
        rows, cols = (self._print(d) for d in expr.shape)
        return f"numpy.broadcast_to({self._print(expr.body)}, ({rows}, {cols}))"

    def _print_Diag(self, expr):
        return f"numpy.diagflat({self._print(expr.vector)})"

    def _print_DiagPart(self, expr):
        return f"numpy.diag({self._print(expr.arg)}).reshape(-1, 1)"

    def _print_ReduceSum(self, expr):
        return f"numpy.sum({self._print(expr.array)})"

    def _print_OneMatrix(self, expr):
        rows, cols = (self._print(d) for d in expr.shape)
        return f"numpy.ones(({rows}, {cols}))"

    def _print_ZeroMatrix(self, expr):
        rows, cols = (self._print(d) for d in expr.shape)
        return f"numpy.zeros(({rows}, {cols}))"

    def _print_Identity(self, expr):
        return f"numpy.eye({self._print(expr.shape[0])})"

    def _print_Transpose(self, expr):
        return f"({self._print(expr.arg)}).T"

    def _print_Inverse(self, expr):
        return f"numpy.linalg.inv({self._print(expr.arg)})"

    def _print_Determinant(self, expr):
        return f"numpy.linalg.det({self._print(expr.arg)})"

    def _print_Trace(self, expr):
        return f"numpy.trace({self._print(expr.arg)})"

    def _print_LogDet(self, expr):
        return f"numpy.linalg.slogdet({self._print(expr.arg)})[1]"

    def _print_Norm(self, expr):
        return f"numpy.linalg.norm({self._print(expr.arg)})"

    def _print_Norm1(self, expr):
        return f"numpy.sum(numpy.abs({self._print(expr.arg)}))"

    def _print_MatMul(self, expr):
        scalars = [a for a in expr.args if not is_array(a)]
        arrays = [f"({self._print(a)})" for a in expr.args if is_array(a)]
        product = " @ ".join(arrays)
        if scalars:
            return f"({self._print(sympy.Mul(*scalars))}) * ({product})"
        return f"({product})"

    def _print_MatAdd(self, expr):
        return "(" + " + ".join(f"({self._print(a)})" for a in expr.args) + ")"

    def _print_BlockMatrix(self, expr):
        rows = ", ".join("[" + ", ".join(self._print(b) for b in row) + "]" for row in expr.blocks.tolist())
        return f"numpy.block([{rows}])"

    def _print_ImmutableDenseMatrix(self, expr):
        rows = ", ".join("[" + ", ".join(self._print(e) for e in row) + "]" for row in expr.tolist())
        return f"numpy.array([{rows}], dtype=float)"

    def _print_Piecewise(self, expr):
        if any(is_array(value) for value, _ in expr.args):
            text = self._print(expr.args[-1][0])
            for value, condition in reversed(expr.args[:-1]):
                text = f"(({self._print(value)}) if ({self._print(condition)}) else ({text}))"
            return text
        return super()._print_Piecewise(expr)

    def _print_And(self, expr):
        return self._pairwise("numpy.logical_and", expr.args)

    def _print_Or(self, expr):
        return self._pairwise("numpy.logical_or", expr.args)

    def _pairwise(self, function: str, args) -> str:
        """Conditions joined two at a time, which broadcasts: a mask zᵢ > 0 and a scalar s > 0 meet per entry.

        SymPy writes `logical_and.reduce((a, b))`, which stacks its operands
        into one array first and fails when their shapes differ.
        """
        text = self._print(args[-1])
        for arg in reversed(args[:-1]):
            text = f"{function}({self._print(arg)}, {text})"
        return text

    def _print_sigmoid(self, expr):
        return f"(1/(1 + numpy.exp(-({self._print(expr.args[0])}))))"


def _code(expr) -> str:
    return _Printer().doprint(expr)


def _inputs(derivation) -> list[tuple[str, sympy.Basic]]:
    return [(name, symbol) for name, symbol in derivation.symbols.items() if name not in derivation.definitions]


def _declared(symbol, name: str, shapes) -> tuple:
    """NumPy shape of an input as declared: 1-D vectors are (n,), matrices (m, n)."""
    if not is_array(symbol):
        return ()
    declared = shapes.get(name)
    rows, cols = symbol.shape
    if declared is not None and "×" not in declared:
        return (rows,)
    return (rows, cols)


def to_numpy(derivation) -> str:
    """A self-contained Python module computing the value and derivative with NumPy."""
    inputs = _inputs(derivation)
    dims: dict[sympy.Symbol, str] = {}
    lines = [
        f'"""Generated by matcalc-sym from {derivation.source.strip()!r}, derivative by {", ".join(derivation.wrt)}.',
        "",
        f"Layout: {derivation.layout}. Call f_and_grad(**inputs) for the value and the derivative;",
        'check_gradient() compares it with central finite differences on random inputs."""',
        "",
        "import functools  # noqa: F401 - used by NumPy's printing of case splits",
        "",
        "import numpy",
        "",
        f"SHAPES = {dict((identifier(name), tuple(str(d) for d in _declared(s, name, derivation.shapes))) for name, s in inputs)!r}",
        f"WRT = {list(derivation.wrt)!r}",
        f"LAYOUT = {derivation.layout!r}",
        f"UPSTREAM = {next((identifier(n) for n, s in inputs if isinstance(s, (AdjointMatrix, AdjointScalar))), None)!r}",
        "",
        "",
        f"def f_and_grad(*, {', '.join(identifier(n) for n, _ in inputs)}):",
        '    """The value and the derivative(s); array inputs are checked against their declared shapes."""',
    ]
    for name, symbol in inputs:
        var = identifier(name)
        shape = _declared(symbol, name, derivation.shapes)
        if not shape:
            lines.append(f"    {var} = float({var})")
            continue
        lines.append(f"    {var} = numpy.asarray({var}, dtype=float)")
        lines.append(f"    assert {var}.ndim == {len(shape)}, '{name} must have {len(shape)} dimension(s)'")
        for axis, dim in enumerate(shape):
            if isinstance(dim, sympy.Symbol):
                if dim not in dims:
                    dims[dim] = f"{var}.shape[{axis}]"
                    lines.append(f"    {identifier(str(dim))} = {var}.shape[{axis}]")
                else:
                    lines.append(f"    assert {var}.shape[{axis}] == {identifier(str(dim))}, "
                                 f"'{name}: axis {axis} must be {dim}'")
            else:
                lines.append(f"    assert {var}.shape[{axis}] == {int(dim)}, '{name}: axis {axis} must be {dim}'")
        if len(shape) == 1:
            lines.append(f"    {var} = {var}.reshape(-1, 1)")
    for name, definition in derivation.definitions.items():
        lines.append(f"    {identifier(name)} = {_code(definition)}")
    lines.append(f"    value = {_code(derivation.expression)}")
    gradients = dict(derivation.gradients)
    if not gradients and len(derivation.wrt) == 1:
        gradients = {derivation.wrt[0]: derivation.result}
    if not gradients:
        lines.append(f"    derivative = {_code(derivation.result)}")
        lines.append("    return value, derivative")
    else:
        for name, gradient in gradients.items():
            lines.append(f"    d_{identifier(name)} = numpy.asarray({_code(gradient)}, dtype=float)")
        if len(gradients) == 1:
            lines.append(f"    return value, d_{identifier(next(iter(gradients)))}")
        else:
            items = ", ".join(f"{name!r}: d_{identifier(name)}" for name in gradients)
            lines.append(f"    return value, {{{items}}}")
    lines += ["", "", _CHECK]
    return "\n".join(lines) + "\n"


_CHECK = '''def _random_inputs(rng, size):
    inputs = {}
    for name, shape in SHAPES.items():
        dims = tuple(size if not d.isdigit() else int(d) for d in shape)
        if len(dims) == 2 and dims[0] == dims[1]:  # square: well conditioned, positive determinant
            m = rng.normal(size=dims)
            inputs[name] = m @ m.T + dims[0] * numpy.eye(dims[0])
        elif dims:
            inputs[name] = rng.uniform(0.2, 1.0, size=dims) * rng.choice([-1, 1], size=dims)
        else:
            inputs[name] = float(rng.uniform(0.2, 1.0))
    return inputs


def _numeric_jacobian(inputs, name, eps):
    """Rows: entries of the value; columns: entries of the variable `name`."""
    base = numpy.asarray(inputs[name], dtype=float)
    flat = base.ravel()
    columns = []
    for i in range(flat.size):
        shifted = []
        for sign in (1, -1):
            moved = flat.copy()
            moved[i] += sign * eps
            trial = dict(inputs, **{name: moved.reshape(base.shape) if base.ndim else float(moved[0])})
            shifted.append(numpy.ravel(numpy.asarray(f_and_grad(**trial)[0], dtype=float)))
        columns.append((shifted[0] - shifted[1]) / (2 * eps))
    return numpy.stack(columns, axis=1)


def _expected(jacobian, inputs, name):
    """What the derivative by one variable should be, in LAYOUT, from its numeric Jacobian."""
    base = numpy.asarray(inputs[name], dtype=float)
    if UPSTREAM is not None:  # the vector-Jacobian product for J = sum(upstream * value)
        product = (numpy.ravel(numpy.asarray(inputs[UPSTREAM])) @ jacobian).reshape(base.shape)
        return product if LAYOUT == "denominator" else numpy.transpose(product)
    if jacobian.shape[0] == 1:  # a scalar value: its gradient
        gradient = jacobian.reshape(base.shape if base.ndim else ())
        if LAYOUT == "numerator":
            return gradient.reshape(1, -1) if base.ndim == 1 else numpy.transpose(gradient)
        return gradient.reshape(-1, 1) if base.ndim == 1 else gradient
    return jacobian if LAYOUT == "numerator" else jacobian.T


def check_gradient(seed=0, size=3, eps=1e-6, tolerance=1e-5):
    """The largest relative difference from central finite differences; raises if over `tolerance`."""
    rng = numpy.random.default_rng(seed)
    inputs = _random_inputs(rng, size)
    value, derivative = f_and_grad(**inputs)
    jacobians = {name: _numeric_jacobian(inputs, name, eps) for name in WRT}
    if isinstance(derivative, dict) or len(WRT) == 1:
        derivatives = derivative if isinstance(derivative, dict) else {WRT[0]: derivative}
        pairs = [(numpy.asarray(derivatives[name], dtype=float), _expected(jacobians[name], inputs, name))
                 for name in WRT]
    else:  # several scalar variables: one gradient row or Jacobian over all of them
        combined = numpy.concatenate([jacobians[name] for name in WRT], axis=1)
        got = numpy.asarray(derivative, dtype=float)
        pairs = [(got, combined if LAYOUT == "numerator" else combined.T)]
    worst = 0.0
    for got, expected in pairs:
        expected = numpy.reshape(expected, got.shape)
        scale = max(1.0, float(numpy.max(numpy.abs(expected))))
        worst = max(worst, float(numpy.max(numpy.abs(got - expected))) / scale)
    if worst > tolerance:
        raise AssertionError(f"gradient check failed: largest relative difference {worst:.3g}")
    return worst


if __name__ == "__main__":
    print(f"check_gradient: largest relative difference {check_gradient():.3g}")
'''
