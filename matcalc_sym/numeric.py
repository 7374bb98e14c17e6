"""Numbers from a derivation: results (scalars, vectors, matrices) evaluated with NumPy.

Array results are SymPy matrix expressions with the package's own classes
(`Elementwise`, `Diag`, `ReduceSum`, `Ones`), so they are evaluated by a
small recursive interpreter, one function per class, rather than lambdify.
Dimension symbols (n, N) are read off the arrays given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from .arrays import Diag, Elem, Elementwise, ReduceSum, is_array
from .errors import DeriveError
from .matfuncs import DiagPart, LogDet, Norm, Norm1

#: scalar functions of an array: how NumPy computes each
MATRIX_SCALARS = {
    sympy.Trace: lambda np, a: np.trace(a),
    sympy.Determinant: lambda np, a: np.linalg.det(a),
    LogDet: lambda np, a: np.linalg.slogdet(a)[1],
    Norm: lambda np, a: np.linalg.norm(a),
    Norm1: lambda np, a: np.sum(np.abs(a)),
}


def evaluate(derivation, values: Mapping[str, Any]) -> Any:
    """`derivation.result` at `values`: a float when scalar, else a 2-D ndarray."""

    values = dict(values)
    for name, definition in derivation.definitions.items():
        if name not in values:
            inputs = {k: v for k, v in derivation.symbols.items() if k not in derivation.definitions}
            values[name] = evaluate_expression(definition, values, inputs)
    if derivation.gradients and len(derivation.gradients) > 1:
        return {name: _shaped(evaluate_expression(g, values, derivation.symbols), g)
                for name, g in derivation.gradients.items()}
    return _shaped(evaluate_expression(derivation.result, values, derivation.symbols), derivation.result)


def _shaped(value, expr):
    import numpy as np

    if is_array_valued(expr):
        return np.atleast_2d(np.asarray(value, dtype=float))
    return float(np.real_if_close(value))


def evaluate_expression(expr: sympy.Basic, values: Mapping[str, Any], symbols: Mapping[str, sympy.Basic]) -> Any:
    """Any expression the engine builds, at `values` (1-D inputs are columns)."""
    import numpy as np

    env: dict[sympy.Basic, Any] = {}
    dims: dict[sympy.Symbol, int] = {}
    for name, symbol in symbols.items():
        if name not in values:
            continue
        if isinstance(symbol, sympy.MatrixSymbol):
            array = np.asarray(values[name], dtype=float)
            if array.ndim == 1:
                array = array.reshape(-1, 1) if symbol.shape[1] == 1 else array.reshape(1, -1)
            if array.ndim != 2:
                raise DeriveError(f"evaluate: {name} must be a 1-D or 2-D array")
            for dim, size in zip(symbol.shape, array.shape):
                if isinstance(dim, sympy.Symbol):
                    if dims.setdefault(dim, size) != size:
                        raise DeriveError(f"evaluate: {name} has {size} where {dim} = {dims[dim]} elsewhere")
                elif int(dim) != size:
                    raise DeriveError(f"evaluate: {name} should have shape {symbol.shape}, got {array.shape}")
            env[symbol] = array
        else:
            env[symbol] = float(values[name])
    missing = sorted(str(s) for s in _free(expr) if s not in env and not (isinstance(s, sympy.Symbol) and s in dims))
    if missing:
        raise DeriveError(f"evaluate needs a value for {', '.join(missing)}")
    with np.errstate(all="ignore"):
        return _Interpreter(env, dims).value(expr)


def is_array_valued(expr) -> bool:
    """An array, or a case split whose cases are arrays."""
    if isinstance(expr, sympy.Piecewise):
        return any(is_array(value) for value, _ in expr.args)
    return is_array(expr)


def _free(expr) -> set:
    found = set()
    for e in sympy.preorder_traversal(expr):
        if isinstance(e, sympy.MatrixSymbol) or isinstance(e, sympy.Symbol) and not any(isinstance(e, t) for t in ()):
            found.add(e)
    return {s for s in found if not (isinstance(s, sympy.Symbol) and s.is_integer and s.is_positive)} | {
        s for s in found if isinstance(s, sympy.MatrixSymbol)}


class _Interpreter:
    """One method per expression class; scalars go through lambdify."""

    def __init__(self, env: dict, dims: dict) -> None:
        import numpy as np

        self.np = np
        self.env = env
        self.dims = dims

    def size(self, dim) -> int:
        return int(sympy.Integer(dim) if isinstance(dim, int) else dim.xreplace(self.dims))

    def value(self, expr):
        np = self.np
        if expr in self.env:
            return self.env[expr]
        if isinstance(expr, sympy.MatrixSymbol):
            raise DeriveError(f"evaluate needs a value for {expr}")
        if isinstance(expr, sympy.Identity):
            return np.eye(self.size(expr.shape[0]))
        if isinstance(expr, sympy.OneMatrix):
            return np.ones((self.size(expr.shape[0]), self.size(expr.shape[1])))
        if isinstance(expr, sympy.ZeroMatrix):
            return np.zeros((self.size(expr.shape[0]), self.size(expr.shape[1])))
        if isinstance(expr, sympy.Transpose):
            return np.transpose(self.value(expr.arg))
        if isinstance(expr, sympy.MatMul):
            return self._product(expr.args)
        if isinstance(expr, sympy.MatAdd):
            return sum(self.value(a) for a in expr.args)
        if isinstance(expr, sympy.BlockMatrix):
            return np.block([[self.value(block) for block in row] for row in expr.blocks.tolist()])
        if isinstance(expr, Diag):
            return np.diag(np.ravel(self.value(expr.vector)))
        if isinstance(expr, DiagPart):
            return np.diag(self.value(expr.arg)).reshape(-1, 1)
        if isinstance(expr, sympy.Inverse):
            return np.linalg.inv(self.value(expr.arg))
        if type(expr) in MATRIX_SCALARS:
            return MATRIX_SCALARS[type(expr)](np, self.value(expr.args[0]))
        if isinstance(expr, sympy.MatrixBase):
            return np.array([[self.value(e) for e in row] for row in expr.tolist()], dtype=float)
        if isinstance(expr, Elementwise):
            shape = (self.size(expr.shape[0]), self.size(expr.shape[1]))
            return np.broadcast_to(self._scalar(expr.body), shape).astype(float)
        if isinstance(expr, sympy.Piecewise) and any(is_array(v) for v, _ in expr.args):
            for value, condition in expr.args:
                if condition == sympy.true or bool(self._scalar(condition)):
                    return self.value(value)
            raise DeriveError("evaluate: no case of the piecewise result applies")
        return self._scalar(expr)

    def _product(self, factors):
        np = self.np
        result = None
        for factor in factors:
            v = self.value(factor)
            if result is None:
                result = v
            elif np.ndim(result) == 2 and np.ndim(v) == 2:
                result = result @ v
            else:
                result = result * v
        return result

    def _scalar(self, expr):
        """A scalar (or element-wise) expression: array-valued atoms first, then lambdify."""
        np = self.np
        replacements = {}
        for atom in sympy.preorder_traversal(expr):
            if isinstance(atom, (Elem, ReduceSum, *MATRIX_SCALARS)) and atom not in replacements:
                replacements[atom] = sympy.Dummy("a")
        inner = {}
        for atom, dummy in replacements.items():
            if isinstance(atom, Elem):
                inner[dummy] = self.value(atom.array)
            elif isinstance(atom, ReduceSum):
                inner[dummy] = np.sum(self.value(atom.array))
            else:
                inner[dummy] = self.value(atom)
        body = expr.xreplace(replacements)
        scalars = sorted((s for s in body.free_symbols if not isinstance(s, sympy.Dummy)), key=str)
        for s in scalars:
            if s in self.dims:
                inner[s] = self.dims[s]
            elif s in self.env:
                inner[s] = self.env[s]
            else:
                raise DeriveError(f"evaluate needs a value for {s}")
        used = body.free_symbols  # an element inside a replaced sum is not an argument of the body
        arguments = [a for a in inner if a in used]
        values = [inner[a] for a in arguments]
        if any(np.ndim(v) for v in values):
            # entry by entry, as the body means: a mask 𝟙[zᵢ > 0] and a scalar condition s > 0 meet in
            # lambdify's logical_and.reduce((z > 0, s > 0)), which NumPy refuses for unequal shapes
            values = list(np.broadcast_arrays(*values))
        function = sympy.lambdify(arguments, body, modules="numpy")
        try:
            return function(*values)
        except NameError:  # a special function NumPy lacks (polygamma, …): mpmath, entry by entry
            function = sympy.lambdify(arguments, body, modules="mpmath")
            return np.vectorize(function, otypes=[float])(*values)
