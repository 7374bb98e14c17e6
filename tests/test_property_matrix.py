"""Random matrix programs ending in a scalar: every reverse-mode gradient matches finite differences."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc_sym import derive
from tests.helpers import assert_gradient_matches

SHAPES = {"A": (2, 3), "B": (3, 2), "C": (2, 2), "b": (3,), "c": (2,), "k": (2, 1)}
DECLARED = {name: ",".join(str(d) for d in shape) for name, shape in SHAPES.items()}
FUNCTIONS = ["tanh", "sigmoid", "sin", "cos"]


@st.composite
def programs(draw):
    """An expression over A, B, C, b, c, k and s, built from shape-correct operations."""
    exprs = [(name, shape) for name, shape in SHAPES.items() if len(shape) == 2]
    for _ in range(draw(st.integers(1, 5))):
        text, shape = draw(st.sampled_from(exprs))
        choice = draw(st.integers(0, 6))
        if choice == 0:
            exprs.append((f"{draw(st.sampled_from(FUNCTIONS))}({text})", shape))
        elif choice == 1:
            exprs.append((f"({text}).T", (shape[1], shape[0])))
        elif choice == 2:
            partners = [(t, s) for t, s in exprs if s[0] == shape[1]]
            other, other_shape = draw(st.sampled_from(partners)) if partners else ("(" + text + ").T", (shape[1], shape[0]))
            exprs.append((f"({text} @ {other})", (shape[0], other_shape[1])))
        elif choice == 3:
            biases = [n for n, s in SHAPES.items() if s == (shape[1],)] + [n for n, s in SHAPES.items() if s == (shape[0], 1)]
            if biases:
                exprs.append((f"({text} + {draw(st.sampled_from(biases))})", shape))
        elif choice == 4:
            same = [t for t, s in exprs if s == shape]
            exprs.append((f"({text} * {draw(st.sampled_from(same))})", shape))
        elif choice == 5:
            exprs.append((f"({text} * s)", shape))
        else:
            exprs.append((f"({text})**2", shape))
    text, _ = exprs[-1]
    return f"{draw(st.sampled_from(['sum', 'mean']))}({text})"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2**16), st.data())
def test_reverse_gradients_match_finite_differences(text, seed, data):
    used = [name for name in [*SHAPES, "s"] if name in text.replace("sin", "").replace("sigmoid", "").replace(
        "cos", "").replace("tanh", "").replace("sum", "").replace("mean", "")]
    wrt = data.draw(st.sampled_from(used))
    d = derive(text, wrt, shapes=DECLARED, mode="reverse", layout="denominator")
    rng = np.random.default_rng(seed)
    values = {name: rng.uniform(-1, 1, size=shape) for name, shape in SHAPES.items()}
    values["s"] = float(rng.uniform(-1, 1))
    assert_gradient_matches(d, values, wrt, tolerance=1e-4)
