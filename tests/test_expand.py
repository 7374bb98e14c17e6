"""`--expand N`: the written-out check, for matrix variables, several wrt names and both layouts.

The expected side of the check is sympy.diff of the written-out components;
these tests hold it (and the derived result) against something that shares
nothing with the package: central finite differences of the input written
by hand in NumPy, whose broadcasting is the contract. A wrong result must
come out unequal (and exit status 3 on the command line).
"""

# The NumPy functions take the user's names (X, Wx, …) as arguments, so they are called with **arrays.
# ruff: noqa: N803

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from matcalc_sym.expand import expand_check
from matcalc_sym.render.schema import errors

RNN = "c = tanh(Wc@cp + Wx@x + b)"
RNN_SHAPES = {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}
MLP = "Zh = X@Wh.T + bh; Ah = tanh(Zh); Zo = Ah@Wout.T + bout; Ao = tanh(Zo); L = sum((Ao - Y)**2)/(3*n)"
MLP_SHAPES = {"X": "n,3", "Wh": "5,3", "bh": "5", "Wout": "3,5", "bout": "3", "Y": "n,3"}

#: (input, wrt, shapes, the input in NumPy written by hand, N): 1-D vectors never meet a square matrix
#: here by broadcasting (that translation is being fixed elsewhere)
CASES = {
    "a@X@b": ("a@X@b", "X", {"a": "n", "X": "n,n", "b": "n"}, lambda a, X, b: a @ X @ b, 3),
    "trace": ("trace(A@X@B)", "X", {"A": "n,n", "X": "n,n", "B": "n,n"},
              lambda A, X, B: np.trace(A @ X @ B), 3),
    "det": ("det(X)", "X", {"X": "n,n"}, lambda X: np.linalg.det(X), 3),
    "sum-square": ("sum(X**2)", "X", {"X": "n,n"}, lambda X: np.sum(X**2), 3),
    "tanh(W@x)": ("tanh(W@x)", "W", {"W": "m,n", "x": "n"}, lambda W, x: np.tanh(W @ x), 3),
    "tanh(W@x) rectangular": ("tanh(W@x)", "W", {"W": "2,3", "x": "3"}, lambda W, x: np.tanh(W @ x), 2),
    "rnn": (RNN, "Wx", RNN_SHAPES, lambda Wc, cp, Wx, x, b: np.tanh(Wc @ cp + Wx @ x + b), 2),
    "rnn bias": (RNN, "b", RNN_SHAPES, lambda Wc, cp, Wx, x, b: np.tanh(Wc @ cp + Wx @ x + b), 2),
    "layer W,b (1-D)": ("sum(tanh(W@x + b))", "W,b", {"W": "m,n", "x": "n", "b": "m"},
                        lambda W, x, b: np.sum(np.tanh(W @ x + b)), 3),
    "layer W,b (columns)": ("sum(tanh(W@x + b))", "W,b", {"W": "m,n", "x": "n,1", "b": "m,1"},
                            lambda W, x, b: np.sum(np.tanh(W @ x + b)), 3),
    "layer x (column)": ("sum(tanh(W@x + b))", "x", {"W": "m,n", "x": "n,1", "b": "m,1"},
                         lambda W, x, b: np.sum(np.tanh(W @ x + b)), 2),
    "row bias": ("sum(tanh(X@W + b))", "W,b", {"X": "N,3", "W": "3,4", "b": "4"},
                 lambda X, W, b: np.sum(np.tanh(X @ W + b)), 2),
    "scalar bias, backprop": ("sum(tanh(W@x + b))", "W,b", {"W": "m,n", "x": "n"},
                              lambda W, x, b: np.sum(np.tanh(W @ x + b)), 3),
    "scalar in a matrix program": ("s*sum(X**2)", "s", {"X": "n,n"}, lambda s, X: s * np.sum(X**2), 2),
    "norm X,w": ("norm(X@w)", "X,w", {"X": "n,n", "w": "n"}, lambda X, w: np.linalg.norm(X @ w), 3),
    "relu": ("sum(relu(W@x))", "W", {"W": "2,3", "x": "3"}, lambda W, x: np.sum(np.maximum(0, W @ x)), 2),
    "named scalar": ("z = sum(W@x); L = z**2", "W", {"W": "m,n", "x": "n"},
                     lambda W, x: np.sum(W @ x) ** 2, 3),
    "forward vector": ("w*x", "w", {"w": "n", "x": "n"}, lambda w, x: w * x, 3),
    "forward scalar in vectors": ("sum(tanh(W@x + b))", "b", {"W": "m,n", "x": "n"},
                                  lambda W, x, b: np.sum(np.tanh(W @ x + b)), 3),
    "forward bias vector": ("tanh(W@x + b)", "b", {"W": "m,n", "x": "n"}, lambda W, x, b: np.tanh(W @ x + b), 3),
    "forward gradient x,y": ("3*x**2*y", "x,y", {}, lambda x, y: 3 * x**2 * y, 3),
    "forward jacobian x,y": ("[3*x**2*y, 2*x + y**8]", "x,y", {},
                             lambda x, y: np.array([3 * x**2 * y, 2 * x + y**8]), 3),
}


# -- an independent witness: finite differences of the hand-written NumPy ---


def _numpy_shape(spec: str, size: int) -> tuple:
    return tuple(int(d) if d.strip().isdigit() else size for d in spec.split(",")) if spec else ()


def _arrays(shapes: dict, names: list[str], size: int, rng) -> dict:
    """Random inputs, sized as --expand sizes them; undeclared names are scalars."""
    return {name: (rng.uniform(-1, 1, _numpy_shape(shapes[name], size)) if name in shapes
                   else float(rng.uniform(-1, 1))) for name in names}


def _entries(arrays: dict) -> dict[str, float]:
    """The written-out entry symbols' values: X_12 is X[0, 1], w_2 is w[1] (also of an n×1 column)."""
    values = {}
    for name, value in arrays.items():
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            values[name] = float(array)
            continue
        matrix = array.reshape(-1, 1) if array.ndim == 1 else array
        for (i, j), entry in np.ndenumerate(matrix):
            values[f"{name}_{i + 1}" if matrix.shape[1] == 1 else f"{name}_{i + 1}{j + 1}"] = float(entry)
    return values


def _at(matrix, values: dict) -> np.ndarray:
    """A written-out matrix at entry values (every free symbol must have one)."""
    missing = {str(s) for s in matrix.free_symbols} - set(values)
    assert not missing, missing
    point = {s: values[str(s)] for s in matrix.free_symbols}
    return np.array(sympy.Matrix(matrix).xreplace(point).evalf(), dtype=float)


def _difference_jacobian(function, arrays: dict, name: str, h: float = 1e-6) -> np.ndarray:
    """∂ ravel(output) / ∂ ravel(arrays[name]) by central differences: a row per output entry."""
    start = np.asarray(arrays[name], dtype=float)
    columns = []
    for index in range(start.size):
        moved = []
        for sign in (1, -1):
            shifted = start.copy().reshape(-1)
            shifted[index] += sign * h
            value = shifted.reshape(start.shape) if start.ndim else float(shifted[0])
            moved.append(np.ravel(function(**{**arrays, name: value})))
        columns.append((moved[0] - moved[1]) / (2 * h))
    return np.stack(columns, axis=1)


def _promised(derivation, function, arrays: dict, name: str, upstream) -> np.ndarray:
    """What the result by `name` must be, in the layout the README promises, from finite differences."""
    jacobian = _difference_jacobian(function, arrays, name)
    variable = np.asarray(arrays[name], dtype=float)
    if derivation.rule != "backprop":
        return jacobian.T if derivation.layout == "denominator" else jacobian
    row = upstream.reshape(1, -1) @ jacobian if upstream is not None else jacobian
    shaped = row.reshape(variable.shape if variable.ndim == 2 else (variable.size, 1))
    return shaped.T if derivation.layout == "numerator" and variable.ndim else shaped


def _assert_against_finite_differences(derivation, function, shapes: dict, size: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    inputs = [p for p in function.__code__.co_varnames[:function.__code__.co_argcount]]
    arrays = _arrays(shapes, inputs, size, rng)
    expansion = derivation.expansion
    upstream = None
    if expansion.upstream is not None:
        upstream = rng.uniform(-1, 1, np.shape(function(**arrays)))
        arrays_with_upstream = {**arrays, expansion.upstream: upstream}
    else:
        arrays_with_upstream = arrays
    values = _entries(arrays_with_upstream)
    for block in expansion.blocks:
        want = _promised(derivation, function, arrays, block.wrt, upstream)
        expected, written = _at(block.jacobian, values), _at(block.vector_result, values)
        assert expected.shape == want.shape, (block.wrt, expected.shape, want.shape)
        np.testing.assert_allclose(expected, want, rtol=1e-5, atol=1e-6, err_msg=f"sympy.diff by {block.wrt}")
        np.testing.assert_allclose(written, want, rtol=1e-5, atol=1e-6, err_msg=f"result by {block.wrt}")


@pytest.mark.parametrize("layout", ["auto", "numerator", "denominator"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_expand_agrees_with_finite_differences_of_numpy(case, layout):
    text, wrt, shapes, function, size = CASES[case]
    d = derive(text, wrt, shapes=shapes, layout=layout, expand=size)
    assert d.expansion.equal, [(b.wrt, b.equal) for b in d.expansion.blocks]
    assert [b.wrt for b in d.expansion.blocks] == wrt.split(",")
    _assert_against_finite_differences(d, function, shapes, size)


def test_layouts_give_the_promised_shapes_for_a_rectangular_matrix():
    """Scalar by a 2×3 matrix: 2×3 in denominator (and auto), 3×2 in numerator; a 1-D bias likewise."""
    shapes = {"W": "2,3", "x": "3", "b": "2"}
    text = "sum(tanh(W@x + b))"
    blocks = {layout: {b.wrt: b for b in derive(text, "W,b", shapes=shapes, layout=layout, expand=2).expansion.blocks}
              for layout in ("auto", "denominator", "numerator")}
    assert blocks["auto"]["W"].jacobian.shape == blocks["denominator"]["W"].jacobian.shape == (2, 3)
    assert blocks["numerator"]["W"].jacobian.shape == (3, 2)
    assert blocks["denominator"]["b"].jacobian.shape == (2, 1)
    assert blocks["numerator"]["b"].jacobian.shape == (1, 2)
    assert blocks["numerator"]["W"].jacobian == blocks["denominator"]["W"].jacobian.T
    assert all(b.equal for layout in blocks.values() for b in layout.values())


def test_upstream_gradient_is_written_out_for_a_matrix_output():
    d = derive(RNN, "Wx", shapes=RNN_SHAPES, expand=2)
    e = d.expansion
    assert e.upstream == "dJ/dc"
    assert "vector-Jacobian product" in e.blocks[0].compared
    assert {"dJ/dc_11", "dJ/dc_22"} <= {str(s) for s in e.blocks[0].jacobian.free_symbols}
    assert e.components.shape == (2, 2)  # nc = m = 2: c written out, not c's own symbol
    assert not any(str(s).startswith("c_") for s in e.blocks[0].vector_result.free_symbols)


def test_two_layer_network_by_four_parameters():
    d = derive(MLP, "Wout,bout,Wh,bh", shapes=MLP_SHAPES, expand=2)
    e = d.expansion
    assert e.equal
    assert [b.wrt for b in e.blocks] == ["Wout", "bout", "Wh", "bh"]
    assert [b.jacobian.shape for b in e.blocks] == [(3, 5), (3, 1), (5, 3), (5, 1)]
    assert isinstance(e.jacobian, sympy.Tuple) and len(e.jacobian) == 4

    def network(X, Wh, bh, Wout, bout, Y):
        Ao = np.tanh(np.tanh(X @ Wh.T + bh) @ Wout.T + bout)
        return np.sum((Ao - Y) ** 2) / (3 * X.shape[0])

    _assert_against_finite_differences(d, network, MLP_SHAPES, 2)


def test_forward_mode_by_several_scalars_is_one_matrix_split_in_blocks():
    d = derive("[3*x**2*y, 2*x + y**8]", "x,y", expand=2)
    e = d.expansion
    x, y = sympy.symbols("x y", real=True)
    assert e.jacobian == sympy.ImmutableMatrix([[6 * x * y, 3 * x**2], [2, 8 * y**7]])
    assert [b.jacobian for b in e.blocks] == [sympy.ImmutableMatrix([6 * x * y, 2]),
                                              sympy.ImmutableMatrix([3 * x**2, 8 * y**7])]


def test_a_variable_the_output_lacks_has_a_zero_block():
    d = derive("sum(w)", "v", shapes={"w": "n"}, expand=2)
    assert d.expansion.equal
    assert all(entry == 0 for entry in d.expansion.blocks[0].jacobian)


# -- a wrong result must be caught -------------------------------------------


def _with_result(d, change):
    """`d` with every gradient (or its result) replaced by `change(value)`."""
    if d.gradients:
        gradients = {name: change(g) for name, g in d.gradients.items()}
        result = next(iter(gradients.values())) if len(gradients) == 1 else sympy.Tuple(*gradients.values())
        return dataclasses.replace(d, gradients=gradients, result=result)
    return dataclasses.replace(d, result=change(d.result))


def _scaled(value):
    return sympy.Rational(101, 100) * value


@pytest.mark.parametrize("case", ["a@X@b", "trace", "det", "sum-square", "tanh(W@x)", "rnn", "relu",
                                  "named scalar", "forward vector", "forward gradient x,y",
                                  "scalar in a matrix program"])
def test_a_result_off_by_one_percent_is_not_equal(case):
    text, wrt, shapes, _, size = CASES[case]
    d = derive(text, wrt, shapes=shapes, expand=size)
    assert d.expansion.equal
    wrong = expand_check(_with_result(d, _scaled), size)
    assert not wrong.equal
    assert not any(block.equal for block in wrong.blocks)
    assert wrong.failure and "element-wise check" in wrong.failure


def test_only_the_wrong_variable_is_named():
    text, wrt, shapes, _, size = CASES["layer W,b (1-D)"]
    d = derive(text, wrt, shapes=shapes, expand=size)
    gradients = dict(d.gradients, b=_scaled(d.gradients["b"]))
    wrong = expand_check(dataclasses.replace(d, gradients=gradients, result=sympy.Tuple(*gradients.values())), size)
    assert [(b.wrt, b.equal) for b in wrong.blocks] == [("W", True), ("b", False)]
    assert "by b " in wrong.failure and "W" not in wrong.failure.split("by ")[1]


@pytest.mark.parametrize("case", ["a@X@b", "det", "tanh(W@x) rectangular", "rnn", "layer W,b (columns)"])
def test_a_transposed_gradient_is_not_equal(case):
    """Transposed: a different shape when the variable is not square, different entries when it is."""
    text, wrt, shapes, _, size = CASES[case]
    d = derive(text, wrt, shapes=shapes, expand=size)
    assert not expand_check(_with_result(d, sympy.Transpose), size).equal


def test_a_gradient_in_the_other_layout_is_not_equal():
    """A numerator-layout derivation whose gradient is shaped like the matrix has broken its promise."""
    shapes = {"W": "m,n", "x": "n"}
    numerator = derive("sum(tanh(W@x))", "W", shapes=shapes, layout="numerator")
    denominator = derive("sum(tanh(W@x))", "W", shapes=shapes, layout="denominator")
    swapped = dataclasses.replace(numerator, gradients=denominator.gradients, result=denominator.result)
    assert expand_check(numerator, 3).equal
    assert not expand_check(swapped, 3).equal


def test_a_vector_jacobian_product_without_the_upstream_is_not_equal():
    d = derive("tanh(W@x)", "W", shapes={"W": "m,n", "x": "n"}, expand=3)
    upstream = d.symbols["dJ/dy"]
    wrong = _with_result(d, lambda g: g.xreplace({upstream: sympy.OneMatrix(*upstream.shape)}))
    assert not expand_check(wrong, 3).equal


# -- the command line and the output formats ---------------------------------

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args), env={"COLUMNS": "100", "NO_COLOR": "1"})


def _options(wrt: str, shapes: dict, size: int, output_format: str = "text") -> list[str]:
    options = ["-w", wrt, "--expand", str(size), "-f", output_format]
    for name, spec in shapes.items():
        options += ["-s", f"{name}={spec}"]
    return options


@pytest.mark.parametrize("case", ["a@X@b", "trace", "det", "sum-square", "tanh(W@x)", "rnn", "layer W,b (1-D)"])
def test_the_reproductions_are_equal_with_exit_status_0(case):
    text, wrt, shapes, _, size = CASES[case]
    result = run(text, *_options(wrt, shapes, size))
    assert result.exit_code == 0, result.stderr
    assert "NOT EQUAL" not in result.stdout
    assert "equal: every gradient is what sympy.diff of the components gives" in result.stdout
    for name in wrt.split(","):
        assert f"by {name}: " in result.stdout


def test_a_disagreement_is_exit_status_3(monkeypatch):
    """A (simulated) wrong simplification makes the result 1% off: NOT EQUAL, exit 3, named variable."""
    from matcalc_sym import api

    real = api.readable
    monkeypatch.setattr(api, "readable", lambda expr: _scaled(real(expr)))
    result = run("sum(X**2)", *_options("X", {"X": "n,n"}, 2))
    assert result.exit_code == 3
    assert "NOT EQUAL: X" in result.stdout
    assert "error: element-wise check (every dimension = 2) failed: the result by X" in result.stderr


def test_json_describes_every_block_and_validates():
    text, wrt, shapes, _, size = CASES["layer W,b (1-D)"]
    result = run(text, *_options(wrt, shapes, size, "json"))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert errors(document) == []
    expansion = document["expansion"]
    assert expansion["equal"] is True and expansion["upstream"] is None
    assert [(b["wrt"], b["equal"]) for b in expansion["blocks"]] == [("W", True), ("b", True)]
    assert "".join(expansion["blocks"][1]["jacobian"]["text"].split()) == (
        "Matrix([[1-tanh(W_11*x_1+W_12*x_2+W_13*x_3+b_1)**2],[1-tanh(W_21*x_1+W_22*x_2+W_23*x_3+b_2)**2],"
        "[1-tanh(W_31*x_1+W_32*x_2+W_33*x_3+b_3)**2]])")


def test_schema_still_accepts_an_expansion_without_the_added_fields():
    """Documents written before `blocks` and `upstream` existed stay valid schema 1."""
    document = derive("sum(w*x)", "w", shapes={"w": "n", "x": "n"}, expand=2).to_dict()
    del document["expansion"]["blocks"], document["expansion"]["upstream"]
    assert errors(document) == []


def test_latex_and_markdown_show_the_check():
    d = derive("a@X@b", "X", shapes={"a": "n", "X": "n,n", "b": "n"}, expand=2)
    latex, markdown = d.to_latex(), d.to_markdown()
    assert r"\subsection*{Element-wise check (every dimension = 2)}" in latex
    assert r"\text{sympy.diff} &= \left[\begin{matrix}a_{1} b_{1} & a_{1} b_{2}\\a_{2} b_{1} & a_{2} b_{2}" in latex
    assert "### Element-wise check (every dimension = 2)" in markdown
    assert "By X: the gradient of y by each entry of X, shaped like X (denominator layout): equal." in markdown
    assert "**equal: every gradient is what sympy.diff of the components gives**" in markdown
    wrong = dataclasses.replace(d, expansion=expand_check(_with_result(d, _scaled), 2))
    assert r"\textbf{NOT EQUAL: X}" in wrong.to_latex()
    assert "**NOT EQUAL: X**" in wrong.to_markdown()


# -- nothing guessed ----------------------------------------------------------


def test_one_condition_on_a_whole_vector_is_not_equal():
    """relu's mask must be per element; a single condition on all of w ⊙ x is read as 'every element'."""
    from matcalc_sym.arrays import Elem

    d = derive("sum(relu(w*x))", "w", shapes={"w": "n", "x": "n"}, expand=3)
    assert d.expansion.equal  # the real result: a per-element mask
    w, x = d.symbols["w"], d.symbols["x"]
    whole = sympy.Piecewise((x.T, Elem(w) * Elem(x) > 0), (sympy.ZeroMatrix(1, w.shape[0]), True))
    wrong = expand_check(dataclasses.replace(d, result=whole), 3)
    assert not wrong.equal
    written = wrong.blocks[0].vector_result
    assert written[0, 0].args[0][1] == sympy.And(*[sympy.Symbol(f"w_{i}", real=True) * sympy.Symbol(f"x_{i}", real=True)
                                                   > 0 for i in (1, 2, 3)])


def test_an_operand_that_is_not_broadcast_yet_is_refused():
    """Which axis an n×1 operand would stretch along in an n×n body is the translation's to say."""
    from matcalc_sym.arrays import Elem, Elementwise
    from matcalc_sym.errors import DeriveError

    d = derive("sum(X*X)", "X", shapes={"X": "n,n", "b": "n"})
    n = d.symbols["X"].shape[0]
    b = sympy.MatrixSymbol("b", n, 1)
    guess = Elementwise(Elem(d.symbols["X"]) * Elem(b), n, n)
    with pytest.raises(DeriveError, match="operand of shape 3×1 in an expression of shape 3×3"):
        expand_check(dataclasses.replace(d, result=guess, gradients={"X": guess},
                                         symbols={**d.symbols, "b": b}), 3)


def test_rounding_in_doubles_is_not_a_difference():
    """(x + 10¹²)² − 10²⁴ − 2·10¹²·x is x², though doubles lose every digit of it; x² + 10⁻⁶ is not."""
    from matcalc_sym.expand import _same_matrices

    x = sympy.Symbol("x", real=True)
    cancelling = sympy.Matrix([(x + 10**12) ** 2 - 10**24 - 2 * 10**12 * x])
    assert _same_matrices(cancelling, sympy.Matrix([x**2]))
    assert not _same_matrices(cancelling, sympy.Matrix([x**2 + sympy.Rational(1, 10**6)]))
