"""Every [[jacobian]] rule in rules/vector.toml and every algebra identity, checked numerically."""

import numpy as np
import pytest
import sympy
from sympy import Identity, MatrixSymbol

from matcalc_sym import derive
from matcalc_sym.algebra import PRODUCT_IDENTITIES, add, multiply
from matcalc_sym.arrays import Diag, Ones
from matcalc_sym.numeric import evaluate_expression
from matcalc_sym.ruletable import default_table
from tests.helpers import assert_jacobian_matches

#: one derivation that exercises each rule: (expression, wrt, shapes)
EXAMPLES = {
    "element-wise-diagonal": ("sin(w)*x", "w", {"w": "n", "x": "n"}),
    "scalar-expansion": ("exp(x*z)", "z", {"x": "n"}),
    "sum-reduction": ("sum(w)", "w", {"w": "n"}),
    "mean-reduction": ("mean(w*w)", "w", {"w": "n"}),
    "matrix-vector-product": ("X@w", "w", {"X": "m,n", "w": "n"}),
    "vector-matrix-product": ("x@X", "x", {"X": "m,n", "x": "m"}),
    "vector-transpose": ("sum(w.T*x)", "w", {"w": "n", "x": "n"}),
    "identity": ("w", "w", {"w": "n"}),
    "norm": ("norm(w)", "w", {"w": "n"}),
    "norm1": ("norm1(w)", "w", {"w": "n"}),
    "softmax": ("softmax(w)", "w", {"w": "n"}),
    "max-reduction": ("max(w)", "w", {"w": "n"}),
    "min-reduction": ("min(w*x)", "w", {"w": "n", "x": "n"}),
    "product-reduction": ("prod(w)", "w", {"w": "n"}),
    "variance": ("var(w, ddof=1)", "w", {"w": "n"}),
    "standard-deviation": ("std(w*x)", "w", {"w": "n", "x": "n"}),
    "index-vector": ("sin(w[:1]) * w[-1]", "w", {"w": "n"}),
    "kron-left": ("kron(w, x)", "w", {"w": "n", "x": "n"}),
    "kron-right": ("kron(w, x)", "x", {"w": "n", "x": "n"}),
    "log-softmax": ("log_softmax(w)", "w", {"w": "n"}),
    "logsumexp": ("logsumexp(w)", "w", {"w": "n"}),
}
RNG = np.random.default_rng(11)
VALUES = {"w": RNG.normal(size=4), "x": RNG.normal(size=4), "z": 0.3, "X": RNG.normal(size=(3, 4))}
VALUES_MATRIX_LEFT = dict(VALUES, x=RNG.normal(size=3))


def test_bracketed_list_of_array_functions_stacks_rows():
    d = derive("[sum(w), dot(w, w)]", "w", shapes={"w": "n"})
    assert isinstance(d.result, sympy.BlockMatrix)
    assert_jacobian_matches(d, VALUES)


def test_every_rule_has_an_example():
    assert {rule.id for rule in default_table().jacobians} == set(EXAMPLES)


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_rule_agrees_with_finite_differences(rule_id):
    text, wrt, shapes = EXAMPLES[rule_id]
    d = derive(text, wrt, shapes=shapes)
    assert rule_id in [s.rule for s in d.steps if s.kind == "differentiate"]
    assert_jacobian_matches(d, VALUES_MATRIX_LEFT if rule_id == "vector-matrix-product" else VALUES)


n = sympy.Symbol("n", integer=True, positive=True)
a, b, c = (MatrixSymbol(name, n, 1) for name in "abc")
X = MatrixSymbol("X", n, n)
SYMBOLS = {"a": a, "b": b, "c": c, "X": X}
POINT = {"a": RNG.normal(size=4), "b": RNG.normal(size=4), "c": RNG.normal(size=4), "X": RNG.normal(size=(4, 4))}
PRODUCTS = [
    (Identity(n), X), (X, Identity(n)), (sympy.ZeroMatrix(n, n), X), (Diag(a), Diag(b)),
    (Ones(1, n), Diag(a)), (a.T, Diag(b)), (Diag(a), Ones(n, 1)), (Diag(a), b), (Ones(1, n), b), (a.T, b),
    (sympy.MatMul(3, Identity(n)), Diag(a)), (Diag(a), sympy.MatMul(Diag(b), X)),
    (Ones(1, n), sympy.MatAdd(Diag(a), sympy.MatMul(Diag(b), X.T))), (a.T, sympy.MatAdd(X, Diag(c))),
    (a.T, sympy.MatAdd(Identity(n), sympy.MatMul(-1, Ones(n, 1), b.T))),
]


def value(expr):
    return np.asarray(evaluate_expression(expr, POINT, SYMBOLS), dtype=float)


@pytest.mark.parametrize(("left", "right"), PRODUCTS, ids=[f"{left}·{right}" for left, right in PRODUCTS])
def test_product_identities_hold(left, right):
    reduced, used = multiply(left, right)
    assert np.allclose(np.squeeze(value(reduced)), np.squeeze(value(left) @ value(right)))


def test_each_identity_is_used_somewhere():
    used = {name for left, right in PRODUCTS for name in multiply(left, right)[1]}
    assert used == {f.__doc__.strip().rstrip(".") for f in PRODUCT_IDENTITIES}


@pytest.mark.parametrize(("left", "right"), [(Diag(a), Diag(b)), (a, b), (a.T, b.T), (Identity(n), Diag(a)),
                                             (sympy.MatMul(2, Identity(n)), sympy.MatMul(3, Identity(n)))])
def test_sums_merge(left, right):
    assert np.allclose(value(add(left, right)), value(left) + value(right))
