"""What comes back from the bounded child is the derivation built there, unchanged.

The result crosses a pipe as a pickle; SymPy rebuilds expressions from their
arguments, which must not re-evaluate them (that took 9 s for a 1600-node
derivative after a 0.3 s derivation, outside the time limit).
"""

from __future__ import annotations

import pytest
import sympy

from matcalc_sym import derive
from tests.examples import ALL

LARGE_SUM = "+".join(f"tanh(sin(x*{k}) - cos(x + {k}))*exp(x/{k})" for k in range(1, 40))


@pytest.mark.parametrize("example", ALL, ids=[e.key for e in ALL])
def test_a_bounded_derivation_equals_the_one_built_in_process(example):
    here = derive(example.text, example.wrt, shapes=example.shapes)
    there = derive(example.text, example.wrt, shapes=example.shapes, timeout=60)
    assert sympy.srepr(there.result) == sympy.srepr(here.result)
    assert [s.kind for s in there.steps] == [s.kind for s in here.steps]
    assert [sympy.srepr(s.rhs) for s in there.steps] == [sympy.srepr(s.rhs) for s in here.steps]


def test_a_large_graph_built_without_evaluation_comes_back_unevaluated():
    here = derive(LARGE_SUM, "x", simplify=False)
    there = derive(LARGE_SUM, "x", simplify=False, timeout=60)
    assert sympy.srepr(there.result) == sympy.srepr(here.result)
    x = next(iter(here.result.free_symbols))
    assert float(there.result.subs(x, 0.3)) == pytest.approx(float(sympy.diff(here.expression, x).subs(x, 0.3)))
