"""Numbers from a derivation: the result evaluated with NumPy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from .errors import DeriveError


def evaluate(derivation, values: Mapping[str, Any]) -> Any:
    """`derivation.result` at `values`: a float when scalar, else a 2-D ndarray."""
    import numpy as np

    result = derivation.result
    free = sorted(result.free_symbols, key=str)
    missing = [str(s) for s in free if str(s) not in values]
    if missing:
        raise DeriveError(f"evaluate needs a value for {', '.join(missing)}")
    arguments = [np.asarray(values[str(s)], dtype=float) for s in free]
    with np.errstate(all="ignore"):
        try:
            value = sympy.lambdify(free, result, modules="numpy")(*arguments)
        except NameError:  # a special function NumPy lacks (polygamma, …): mpmath, entry by entry
            value = np.vectorize(sympy.lambdify(free, result, modules="mpmath"), otypes=[object])(*arguments)
    if isinstance(result, sympy.MatrixBase):
        return np.array(value, dtype=float).reshape(result.shape)
    return float(value)
