"""The check's oracle is independent of the translation it checks.

`matcalc_sym.reference` computes the user's text with NumPy. These tests show
(1) it is NumPy's meaning, value for value; (2) it shares no code with the
translation (it still works with the translation broken); and (3) the check
*fails* when the translation is deliberately corrupted, in the ways earlier
versions really were wrong: a 1-D vector broadcast as a column against a
square matrix, and `A**-1` read as the inverse.
"""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

from matcalc_sym import broadcasting, derive, reference, reverse_rules, symbolic
from matcalc_sym.arrays import Ones, ReduceSum, is_array
from matcalc_sym.cli import app
from matcalc_sym.reference import Reference, ReferenceError, Undefined

M = np.array([[1.0, 2.0], [3.0, 4.0]])
RNG = np.random.default_rng(7)


@pytest.mark.parametrize(("text", "shapes", "numpy"), [
    ("sum(M*v)", {"M": ("n", "n"), "v": ("n",)}, lambda v, **k: np.sum(k["M"] * v)),
    ("M*v", {"M": ("n", "n"), "v": ("n",)}, lambda v, **k: k["M"] * v),
    ("M*c", {"M": ("n", "n"), "c": ("n", "1")}, lambda c, **k: k["M"] * c),
    ("c + v", {"c": ("n", "1"), "v": ("n",)}, lambda c, v, **_: c + v),
    ("M**-1", {"M": ("n", "n")}, lambda **k: k["M"] ** -1.0),
    ("v @ M", {"M": ("n", "n"), "v": ("n",)}, lambda v, **k: v @ k["M"]),
    ("M @ v + v.T", {"M": ("n", "n"), "v": ("n",)}, lambda v, **k: k["M"] @ v + v),
    ("dot(M, M) - dot(2, M)", {"M": ("n", "n")}, lambda **k: np.dot(k["M"], k["M"]) - 2 * k["M"]),
    ("z = tanh(M@v); mean(z**2)", {"M": ("n", "n"), "v": ("n",)}, lambda v, **k: np.mean(np.tanh(k["M"] @ v) ** 2)),
    ("sum(v)/n + trace(inv(M))", {"M": ("n", "n"), "v": ("n",)},
     lambda v, **k: np.sum(v) / v.size + np.trace(np.linalg.inv(k["M"]))),
    ("where(v > 0, v, 0.1*v) ^ 2", {"v": ("n",)}, lambda v, **_: np.where(v > 0, v, 0.1 * v) ** 2),
])
def test_the_reference_is_numpy_reading_the_text(text, shapes, numpy):
    values = {"M": M, "v": np.array([1.0, -2.0]), "c": np.array([[0.5], [-1.5]])}
    values = {k: v for k, v in values.items() if k in shapes}
    np.testing.assert_allclose(Reference(text, shapes)(values), numpy(**values), rtol=1e-12)


def test_the_reference_imports_nothing_of_the_translation():
    """Only the syntax front end (characters, `ast.parse`) is shared with the parser."""
    tree = ast.parse(inspect.getsource(reference))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported |= {f"{'.' * node.level}{node.module or ''}:{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert imported <= {"__future__:annotations", "ast", "math", "collections.abc:Callable",
                        "collections.abc:Mapping", "dataclasses:dataclass", "dataclasses:field", "functools:cached_property", "typing:Any",
                        ".errors:MatcalcError", ".parse:_parse_ast", ".parse:_prepare", "mpmath", "numpy"}, imported
    assert "sympy" not in inspect.getsource(reference).replace("no SymPy", "")


@pytest.mark.parametrize("text", ["tanh(Wc@cp + Wx@x + b)", "y = -x.T@A; sum(y*y)/n + sum(max(0, abs(x)))",
                                  "[3*x**2*y, 2*x + y**8]"])
def test_the_walk_made_once_visits_as_the_walk_made_each_time(text):
    """The reference walks each statement in an order found once (`Reference.orders`); it must be the
    very order `bottom_up` visits, so every evaluation computes what it always did."""
    visits = {"each time": [], "once": []}
    for _, root in reference.statements(text):
        reference.bottom_up(root, lambda node, args: visits["each time"].append((node, len(args))))
        reference.visit_in_order(reference.postorder(root), lambda node, args: visits["once"].append((node, len(args))))
    assert visits["once"] == visits["each time"] and len(visits["once"]) > 5


def test_the_reference_works_with_the_translation_broken(monkeypatch):
    def broken(*args, **kwargs):
        raise AssertionError("the reference must not build SymPy expressions")

    monkeypatch.setattr(symbolic, "build", broken)
    monkeypatch.setattr(sympy, "sympify", broken)
    assert Reference("sum(M*v)", {"M": ("n", "n"), "v": ("n",)})({"M": M, "v": [1.0, 1.0]}) == 10.0


def test_the_reference_refuses_what_it_cannot_mean_and_reports_holes():
    with pytest.raises(Undefined):
        Reference("log(x)")({"x": -1.0})
    with pytest.raises(ReferenceError, match="no reference value for besselj"):
        Reference("besselj(x)")({"x": 1.0})
    assert Reference("x + exp(20)")({"x": 0.25}, precise=True) == pytest.approx(0.25 + np.exp(20), rel=1e-15)


# -- corrupting the translation must fail the check ----------------------------------------------


def column_guess_broadcast_to(array, shape, target):
    """The old translation: decided from the stored n×1 shape, so a 1-D vector against a
    square matrix was stretched as a column."""
    rows, cols = symbolic.matrix_shape(target)
    stored = tuple(array.shape)
    if not is_array(array) or stored == (rows, cols):
        return array
    if stored[1] == 1 and stored[0] == cols and rows != cols:
        return sympy.MatMul(Ones(rows, 1), sympy.Transpose(array))
    if stored == (rows, 1):
        return sympy.MatMul(array, Ones(1, cols))
    return broadcasting.broadcast_to(array, shape, target)


def column_guess_unbroadcast(grad, shape, target):
    rows, cols = symbolic.matrix_shape(target)
    stored = symbolic.matrix_shape(shape) if shape else ()
    if is_array(grad) and stored == (rows, 1) and rows == cols and len(shape) == 1:
        return sympy.MatMul(grad, Ones(cols, 1)), "the columns"
    if not shape and is_array(grad):
        return ReduceSum(grad), "all elements"
    return broadcasting.unbroadcast(grad, shape, target)


@pytest.fixture
def column_guess(monkeypatch):
    monkeypatch.setattr(symbolic, "broadcast_to", column_guess_broadcast_to)
    monkeypatch.setattr(reverse_rules, "broadcast_to", column_guess_broadcast_to)
    monkeypatch.setattr(reverse_rules, "unbroadcast", column_guess_unbroadcast)


@pytest.mark.parametrize(("text", "wrt", "shapes"), [
    ("sum(M*v)", "v", {"M": "n,n", "v": "n"}),
    ("sum(W*(X + b))", "b", {"W": "n,n", "X": "n,n", "b": "n"}),
    ("sum((w*W)@W)", "w", {"W": "n,n", "w": "n"}),
    ("L = sum(tanh(Q@K.T + b)*G)", "b", {"Q": "n,d", "K": "n,d", "b": "n", "G": "n,n"}),
])
def test_a_column_guess_for_1d_vectors_fails_the_check(column_guess, text, wrt, shapes):
    report = derive(text, wrt, shapes=shapes, check=True).check
    assert not report.passed
    assert "disagrees with central differences" in report.failure


def test_the_same_corruption_passes_unnoticed_when_the_oracle_is_the_translation(column_guess):
    """Why the oracle had to change: the translation checked against itself agrees with itself."""
    from matcalc_sym.numeric import evaluate_expression

    d = derive("sum(M*v)", "v", shapes={"M": "n,n", "v": "n"})
    values = {"M": M, "v": np.array([1.0, 2.0])}
    own = evaluate_expression(d.expression, values, d.symbols)
    assert own == pytest.approx(1 + 2 + 6 + 8)  # v stretched down the columns: the old reading
    assert Reference(d.source, {"M": ("n", "n"), "v": ("n",)})(values) == pytest.approx(1 + 4 + 3 + 8)
    assert np.sum(M * values["v"]) == 1 + 4 + 3 + 8


def test_the_corruption_fails_on_the_command_line_with_exit_3(column_guess):
    result = CliRunner().invoke(app, ["sum(M*v)", "-w", "v", "-s", "M=n,n", "-s", "v=n", "--check", "-f", "text"])
    assert result.exit_code == 3
    assert "check failed: the result disagrees with central differences" in result.stderr


def test_reading_a_square_power_minus_one_as_the_inverse_fails_the_check(monkeypatch):
    from matcalc_sym.parse import _Translator

    apply = _Translator.apply

    def inverse_guess(self, op, args, column, params=()):
        if op == "pow" and len(args[0].shape) == 2 and args[1].is_const and args[1].value == -1:
            return apply(self, "inv", [args[0]], column)
        return apply(self, op, args, column, params)

    monkeypatch.setattr(_Translator, "apply", inverse_guess)
    report = derive("sum(A*X**-1)", "X", shapes={"A": "n,n", "X": "n,n"}, check=True).check
    assert not report.passed and "disagrees with central differences" in report.failure


def test_a_swapped_matrix_product_fails_the_check(monkeypatch):
    build_array = symbolic.build_array

    def swapped(op, args, table, shape, arg_shapes, *, evaluate=True, params=()):
        if op == "matmul" and len(arg_shapes[0]) == 2 and len(arg_shapes[1]) == 2:
            return sympy.MatMul(sympy.Transpose(args[0]), args[1])  # Aᵀ B instead of A B
        return build_array(op, args, table, shape, arg_shapes, evaluate=evaluate, params=params)

    monkeypatch.setattr(symbolic, "build_array", swapped)
    report = derive("sum(tanh(A@B))", "B", shapes={"A": "n,n", "B": "n,n"}, check=True).check
    assert not report.passed


# -- the reference's two spellings: the evaluator and the exported code ------------------------------

ARGUMENTS = {
    1: ("x",), 2: ("x", "y"), 3: ("x > 0", "x", "y"),
}
MATRIX_ONLY = {"trace", "det", "logdet", "inv", "diag", "outer", "norm", "norm1", "einsum"}


def _arity(name: str) -> int:
    from matcalc_sym.ruletable import default_table

    return max(default_table().function(name).arity)


def _run_code(text: str, shapes, values):
    """Run the generated NumPy code of `text` (our code: numbers, identifiers, fixed templates)."""
    import math

    from matcalc_sym.reference_code import HELPERS, numpy_statements

    namespace = {"_np": np, "_math": math, **values}
    exec(HELPERS, namespace)  # noqa: S102 - the package's own fixed helper code
    result = None
    with np.errstate(all="ignore"):
        for target, code in numpy_statements(text, lambda name: name):
            result = eval(code, namespace)  # noqa: S307 - generated from the syntax tree, see reference_code
            if target is not None:
                namespace[target] = result
    return result


def test_every_shipped_function_has_a_reference_value_and_code():
    from matcalc_sym.reference_code import TEMPLATES
    from matcalc_sym.ruletable import default_table

    table = default_table()
    names = {n for n, spec in table.functions.items() if spec.kind != "constant"}
    assert names <= set(TEMPLATES)
    assert set(table.aliases) <= set(reference.SPELLINGS)
    for name in sorted(names):
        if name in MATRIX_ONLY:
            continue
        text = f"{name}({', '.join(ARGUMENTS[_arity(name)])})"
        for x, y in [(0.3, 0.7), (-0.6, 1.4), (1.7, 2.2)]:
            try:
                want = Reference(text)({"x": x, "y": y})
            except Undefined:
                assert not np.isfinite(_run_code(text, {}, {"x": x, "y": y})), text
                continue
            assert _run_code(text, {}, {"x": x, "y": y}) == pytest.approx(want, rel=1e-12), (text, x)


@pytest.mark.parametrize("text", ["trace(A) + det(A) + logdet(A@A.T) + sum(inv(A)) + norm(A) + norm1(A)",
                                  "sum(diag(v)) + sum(diag(A)) + sum(outer(v, v)) + sum(eye(n)@v) + sum(ones(n))",
                                  "z = A@v; s = sum(z*v); s**2 + mean(A*v) + sum(A**-1)",
                                  "sum(max(A, 0.5) * where(A > 0, A, -A)) + dot(v, v) + sum(dot(A, A))"])
def test_the_exported_code_computes_what_the_reference_computes(text):
    shapes = {"A": ("n", "n"), "v": ("n",)}
    values = {"A": np.array([[2.0, 0.5, 0.1], [0.3, 1.5, -0.2], [0.2, 0.4, 1.8]]), "v": np.array([0.5, -1.0, 2.0])}
    want = Reference(text, shapes)(values)
    assert _run_code(text, shapes, {**values, "n": 3}) == pytest.approx(want, rel=1e-12)


def test_the_exported_code_holds_no_input_text():
    """Names go through name_of and numbers through repr: a comment or string cannot reach the code."""
    from matcalc_sym.reference_code import numpy_statements

    code = numpy_statements("x**2 + 1e-3 #\"\"\"; import os", lambda name: f"v_{name}")
    assert code == [(None, "_np.add(_np.power(v_x, 2.0), 0.001)")]


def test_the_exported_code_of_a_long_sum_and_a_deep_nest_compiles():
    from matcalc_sym.reference_code import HOIST_HEIGHT, numpy_statements

    long_sum = "+".join(f"{i}*x" for i in range(1, 2000))
    deep = "x"
    for _ in range(150):
        deep = f"sin({deep})"
    for text, want in [(long_sum, sum(range(1, 2000)) * 0.5), (deep, None)]:
        lines = numpy_statements(text, lambda name: name)
        assert all(code.count("(") - code.count(")") == 0 for _, code in lines)
        assert max(code.count("_np.") for _, code in lines) <= 2 * HOIST_HEIGHT + 2
        got = _run_code(text, {}, {"x": 0.5})
        assert got == pytest.approx(want if want is not None else Reference(text)({"x": 0.5}), rel=1e-12)


def test_a_rules_file_function_is_written_out_through_its_definition():
    from matcalc_sym.reference_code import numpy_statements

    lines = numpy_statements("softplus(x*x) + 1", lambda name: name, functions={"softplus": "log(1 + exp(u))"})
    assert lines[0] == ("_r1", "_np.multiply(x, x)")
    assert lines[-1] == (None, "_np.add((_np.log(_np.add(1.0, _np.exp((_r1))))), 1.0)")
