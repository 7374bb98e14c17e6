"""The benchmark script's own arithmetic and witnesses (nothing here is timed).

`benchmarks/run.py` summarises seeds by a median in which "over the limit"
ranks above every time, says whether SymPy's matrix `diff` agrees with
`derive`, and reads peak memory inside a fresh process, because `ru_maxrss`
there (and through `wait4`) reported the benchmark's own size.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

_BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("benchmark_run", _BENCHMARKS / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("figures, median", [
    ([0.2, None, 0.1, None, 0.3], 0.3),  # two seeds over the limit rank last
    ([None, None, 1.0], None),           # most over the limit: the median is too
    ([0.4, 0.1, 0.2], 0.2),
])
def test_a_median_over_seeds_ranks_over_the_limit_last(run, figures, median):
    assert run.median_or_over(figures) == median


def test_sympy_matrix_diff_is_compared_not_only_timed(run):
    import sympy
    from matrixproblems import MatrixProblem, verdict

    shapes = {"A": "n,n", "X": "n,n", "B": "n,n"}

    def right(dims):
        a, x, b = (sympy.MatrixSymbol(s, dims["n"], dims["n"]) for s in "AXB")
        return sympy.Trace(a * x * b), x

    def wrong(dims):  # B left out: a fast answer to another question
        a, x, _ = (sympy.MatrixSymbol(s, dims["n"], dims["n"]) for s in "AXB")
        return sympy.Trace(a * x), x

    assert verdict(MatrixProblem("right", "trace(A@X@B)", "X", shapes, right)) == "agrees"
    assert verdict(MatrixProblem("wrong", "trace(A@X@B)", "X", shapes, wrong)) == "**SymPy's answer is wrong**"


def test_peak_memory_is_the_fresh_process_own_not_the_launcher(run):
    ballast = bytearray(256 * 1024 * 1024)
    ballast[:: 4096] = b"\1" * len(ballast[:: 4096])  # resident, not just reserved
    (line,) = run.peak_memory("sin(x**2)")
    del ballast
    peak = re.search(r"\| (\d+) MB \|", line)
    assert peak is not None, line
    assert 10 < int(peak.group(1)) < 200, line  # a Python with SymPy: tens of MB, never the 256 MB here
