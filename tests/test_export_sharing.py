"""Issue 19: the NumPy export of a long derivation computes each shared subexpression once.

A long derivation's result is a graph (a node's adjoint feeds each of its children); printed
as a tree, the export of a 3200-node case wrote 31 608 nodes for 2 496 distinct ones and took
longer to write and to verify than the derivation. Shared compound subexpressions become
temporaries. These tests count what the printer prints (never time) and hold the module's
values to the package's own evaluation and to the tree-printed module of the same result.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import randexpr

from matcalc_sym import derive
from matcalc_sym.render import numpy as export
from matcalc_sym.render.terminal import COMPACT_STEPS


@pytest.fixture(scope="module")
def long_derivation():
    derivation = derive(randexpr().random_tree(400, seed=3).text(), "x")
    assert len(derivation.steps) > COMPACT_STEPS
    return derivation


def _compound_ids(expr) -> set[int]:
    """Ids of the compound nodes of `expr`'s graph (each object once)."""
    seen, pending = {}, [expr]
    while pending:
        node = pending.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            pending.extend(node.args)
    return {key for key, node in seen.items() if node.args}


def _module(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<export>", "exec"), namespace)  # noqa: S102 - the package's own verified module
    return namespace


def test_each_shared_subexpression_is_printed_once(long_derivation, monkeypatch):
    printed: list = []
    original = export._Printer._print

    def counting(self, expr, **kwargs):
        printed.append(expr)
        return original(self, expr, **kwargs)

    monkeypatch.setattr(export._Printer, "_print", counting)
    long_derivation.to_numpy()
    nodes = _compound_ids(long_derivation.result)
    prints = sum(1 for expr in printed if id(expr) in nodes)
    # printed as a tree: 1378 prints of 335 nodes; with temporaries each about once (the value's
    # code and SymPy's own look-aheads print a few again)
    assert prints <= 2 * len(nodes), (prints, len(nodes))
    assert export._shared_subexpressions(long_derivation.result), "no sharing: this test would show nothing"


def test_shared_temporaries_compute_what_the_tree_computes(long_derivation, monkeypatch):
    """The module with temporaries and the module printed as a tree give the same numbers, and both
    the package's own `evaluate`."""
    shared = _module(long_derivation.to_numpy())
    monkeypatch.setattr(export, "_shared_subexpressions", lambda expr: set())
    tree = _module(long_derivation.to_numpy())
    names = list(shared["SHAPES"])
    rng = np.random.default_rng(7)
    compared = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(400):
            point = {name: float(rng.uniform(0.2, 2.0)) for name in names}
            value, derivative = shared["f_and_grad"](**point)
            same_value, same_derivative = tree["f_and_grad"](**point)
            assert np.allclose(derivative, same_derivative, rtol=1e-12, equal_nan=True)
            if np.isfinite(derivative).all():
                expected = long_derivation.evaluate(point)
                assert np.allclose(derivative, np.asarray(expected, dtype=float), rtol=1e-9)
                compared += 1
    assert compared >= 5
