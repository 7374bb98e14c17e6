"""Case splits: where, max, min and ReLU, scalar and element-wise, checked on both sides of each kink."""

import numpy as np
import pytest

from matcalc_sym import derive
from tests.helpers import assert_jacobian_matches, assert_matches_finite_differences


@pytest.mark.parametrize("text", [
    "where(x > 0, x**2, -x)",
    "min(x, x**2)",
    "relu(x - 1) + relu(1 - x)",
    "where(x**2 > 1, sin(x), x)",
    "max(x, 2*x)",
    "abs(x**3 - x)",
])
def test_scalar_case_splits_match_finite_differences(text):
    d = derive(text, "x")
    for point in (0.5, -0.7, 1.7, -1.4):
        assert_matches_finite_differences(d, {"x": point})


def test_conditions_stay_inline_and_are_not_differentiated():
    d = derive("where(x**2 > 1, sin(x), x)", "x")
    introduced = [str(s.lhs) for s in d.steps if s.kind == "introduce"]
    assert introduced == ["u1", "u2", "y"]  # x**2, sin(x), the where: no variable for the comparison
    assert str(d.steps[2].rhs) == "Piecewise((u2, u1 > 1), (x, True))"


@pytest.mark.parametrize(("text", "shapes"), [
    ("where(w > 0, w, 0.1*w)", {"w": "n"}),
    ("max(w, v)", {"w": "n", "v": "n"}),
    ("relu(w*v - 0.1)", {"w": "n", "v": "n"}),
])
def test_element_wise_case_splits(text, shapes):
    rng = np.random.default_rng(4)
    d = derive(text, "w", shapes=shapes)
    assert d.steps[[s.kind for s in d.steps].index("differentiate")].rule == "element-wise-diagonal"
    assert_jacobian_matches(d, {"w": rng.normal(size=5), "v": rng.normal(size=5)})
