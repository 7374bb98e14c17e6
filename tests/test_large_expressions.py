"""The large-graph path (no automatic evaluation) gives the same derivative as the normal path."""

import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

import matcalc_sym.graph as graph
from matcalc_sym import derive
from matcalc_sym.parse import parse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from randexpr import random_expression  # noqa: E402


def values(derivation, which, points):
    symbols = sorted(derivation.symbols.values(), key=str)
    function = sympy.lambdify(symbols, getattr(derivation, which), "numpy")
    with np.errstate(all="ignore"):
        return np.array([complex(function(np.complex128(x), np.complex128(y))) for x, y in points])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_unevaluated_large_path_equals_the_normal_path(seed, monkeypatch):
    text = random_expression(150, seed=seed)
    normal = derive(text, "x")
    monkeypatch.setattr(graph, "LARGE_GRAPH", 5)  # every graph counts as large now
    large = derive(text, "x")
    assert graph.is_large(graph.introduce(parse(text)).order)
    points = [(0.3, 0.7), (-0.8, 0.5), (1.1, 1.9), (0.6, -1.2)]
    a, b = values(normal, "result", points), values(large, "result", points)
    finite = np.isfinite(a) & np.isfinite(b)
    assert finite.sum() >= 2
    assert np.allclose(a[finite], b[finite], rtol=1e-9, atol=1e-12)
