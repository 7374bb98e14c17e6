"""Array functions from a rules file (`[array_functions.NAME]`): proven at load time, then usable everywhere.

A rules file declares a function's signature, its definition and its
vector-Jacobian product (and, for forward mode, its Jacobian) as formulas in
the input language. Loading the file checks every formula against finite
differences of the definition at random sizes and refuses a wrong one with
its counter-example; after that the function parses, derives in both modes,
evaluates, writes itself out for --expand, exports to NumPy, and survives the
time-limited child, each derivation with its own file's meaning.
"""

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import sympy
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from matcalc_sym.errors import DeriveError, ParseError, ShapeError
from matcalc_sym.operations import REGISTRY, user_arrays
from matcalc_sym.reference import reference_of
from matcalc_sym.render.schema import errors
from matcalc_sym.ruletable import RuleFileError
from matcalc_sym.userrules import RuleRejected, load_user_table
from tests.helpers import assert_gradient_matches, assert_jacobian_matches, load_exported

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: the gallery's worked examples: (title, expression, wrt, shapes), each derived with rules=WORKED_EXAMPLES_RULES
WORKED_EXAMPLES = [
    ("A normalized linear layer by W: backprop through a rules file's VJP",
     "sum(normalize(W@x) * y)", "W", {"W": "m,n", "x": "n", "y": "m"}),
    ("normalize by its vector: forward mode with the rules file's Jacobian (I − s sᵀ)/‖u‖",
     "sum(normalize(x) * y)", "x", {"x": "n", "y": "n"}),
    ("Cosine similarity written with normalize, by x",
     "sum(normalize(x) * normalize(y))", "x", {"x": "n", "y": "n"}),
    ("A tanh layer over a normalized embedding, by W",
     "sum(tanh(V @ normalize(W @ x)) * t)", "W", {"V": "k,m", "W": "m,n", "x": "n", "t": "k"}),
]
#: paths relative to the repository root
WORKED_EXAMPLES_RULES = ("examples/normalize.toml",)
NORMALIZE = EXAMPLES / "normalize.toml"
WRONG_VJP = EXAMPLES / "normalize-wrong-vjp.toml"

#: the result of each worked example, as SymPy prints it
RESULTS = {
    "sum(normalize(W@x) * y)": "1/norm(W*x)*(y - normalize(W*x) ⊙ y·normalize(W*x))*x.T",
    "sum(normalize(x) * y)": "1/norm(x)*y.T*(-normalize(x)*normalize(x).T + I)",
    "sum(normalize(x) * normalize(y))": "1/norm(x)*normalize(y).T*(-normalize(x)*normalize(x).T + I)",
    "sum(tanh(V @ normalize(W @ x)) * t)": ("1/norm(W*x)*(V.T*((1 - tanh(V*normalize(W*x))**2) ⊙ t) - normalize(W*x) ⊙ "
                                            "(V.T*((1 - tanh(V*normalize(W*x))**2) ⊙ t))·normalize(W*x))*x.T"),
}

RNG = np.random.default_rng(5)
VALUES = {"W": RNG.normal(size=(3, 4)), "x": RNG.normal(size=4), "y": RNG.normal(size=3), "V": RNG.normal(size=(2, 3)),
          "t": RNG.normal(size=2), "X": RNG.normal(size=(3, 4)), "B": RNG.normal(size=(3, 4)),
          "A": RNG.normal(size=(4, 4)), "a": 0.7}

runner = CliRunner()


def write(tmp_path, text, name="arrays.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def values_for(shapes):
    """Inputs whose sizes fit `shapes`: the shared VALUES, with vectors cut to their declared partner's size."""
    sizes = {}
    for name, shape in shapes.items():
        for dim, size in zip(shape.split(","), np.shape(VALUES[name])):
            sizes.setdefault(dim, size)
    out = {}
    for name, shape in shapes.items():
        wanted = tuple(sizes[d] for d in shape.split(","))
        value = np.asarray(VALUES[name])
        out[name] = value if value.shape == wanted else RNG.normal(size=wanted)
    return out


def renders_everywhere(d) -> None:
    """Every output format, and the exported module's own gradient check against the text."""
    assert "normalize" in d.to_text()
    latex = d.to_latex(standalone=True)
    assert latex.startswith(r"\documentclass") and r"\operatorname{normalize}" in latex
    assert r"\operatorname{normalize}" in d.to_markdown()
    document = json.loads(json.dumps(d.to_dict()))
    assert errors(document) == []
    assert "normalize(" in document["result"]["text"]
    module = load_exported(d.to_numpy())
    assert module["check_gradient"]() < 1e-5


# -- the worked examples -------------------------------------------------------------------------------


@pytest.mark.parametrize(("title", "text", "wrt", "shapes"), WORKED_EXAMPLES, ids=[w[1] for w in WORKED_EXAMPLES])
def test_worked_example_is_right_against_finite_differences_of_the_text(title, text, wrt, shapes):
    d = derive(text, wrt, shapes=shapes, rules=[NORMALIZE], check=True)
    assert d.check.passed, d.check.failure
    assert d.check.steps_verified == d.check.steps_total >= 3
    assert sympy.sstr(d.result) == RESULTS[text]
    assert "normalize" in [s.rule for s in d.steps if s.kind == "differentiate"]
    values = values_for(shapes)
    if d.rule == "backprop":
        assert_gradient_matches(d, values, wrt)
    else:
        assert_jacobian_matches(d, values)
    renders_everywhere(d)


def test_the_normalized_layer_agrees_with_the_closed_form_and_its_export():
    """∂/∂W Σ y ⊙ Wx/‖Wx‖ = (y − s sᵀy) xᵀ / ‖Wx‖ with s = Wx/‖Wx‖, from the derivation and from the module."""
    d = derive("sum(normalize(W@x) * y)", "W", shapes={"W": "m,n", "x": "n", "y": "m"}, rules=[NORMALIZE])
    W, x, y = VALUES["W"], VALUES["x"], VALUES["y"]
    z = W @ x
    s = z / np.linalg.norm(z)
    closed = np.outer(y - s * (s @ y), x) / np.linalg.norm(z)
    assert np.allclose(d.evaluate({"W": W, "x": x, "y": y}), closed, rtol=1e-12, atol=1e-12)
    value, gradient = load_exported(d.to_numpy())["f_and_grad"](W=W, x=x, y=y)
    assert value == pytest.approx(float(s @ y), rel=1e-12)
    assert np.allclose(gradient, closed, rtol=1e-12, atol=1e-12)


def test_the_steps_name_the_rules_file_and_show_the_vjp():
    d = derive("sum(normalize(W@x) * y)", "W", shapes={"W": "m,n", "x": "n", "y": "m"}, rules=[NORMALIZE])
    (introduced,) = [s for s in d.steps if s.kind == "introduce" and str(s.rhs) == "normalize(u1)"]
    assert introduced.shapes["equation"] == "m = normalize(m)"
    (step,) = [s for s in d.steps if s.rule == "normalize"]
    assert "∂J/∂u = (G - s*sum(G*s)) / norm(u), with s = normalize(u) and G = ∂J/∂s" in step.explanation
    assert str(NORMALIZE) in step.explanation and "finite differences" in step.explanation
    assert sympy.sstr(step.rhs) == "((df/du2) - u2 ⊙ (df/du2)·u2)/norm(u1)"


def test_forward_and_reverse_mode_agree_on_a_vector():
    shapes = {"x": "n", "y": "n"}
    forward = derive("sum(normalize(x) * y)", "x", shapes=shapes, rules=[NORMALIZE], mode="forward")
    reverse = derive("sum(normalize(x) * y)", "x", shapes=shapes, rules=[NORMALIZE], mode="reverse", check=True)
    assert [s.rule for s in forward.steps if s.kind == "differentiate"][0] == "normalize"
    assert reverse.check.passed, reverse.check.failure
    point = {"x": VALUES["x"], "y": VALUES["t"].repeat(2)}
    x, y = point["x"], point["y"]
    s = x / np.linalg.norm(x)
    expected = (y - s * (s @ y)) / np.linalg.norm(x)
    assert np.allclose(forward.evaluate(point), expected[None, :], rtol=1e-12)
    assert np.allclose(reverse.evaluate(point), expected[None, :], rtol=1e-12)


def test_the_expansion_writes_normalize_out_through_its_definition():
    d = derive("sum(normalize(W@x) * y)", "W", shapes={"W": "m,n", "x": "n", "y": "m"}, rules=[NORMALIZE],
               expand=2)
    assert d.expansion.equal
    component = d.expansion.components[0]
    assert "normalize" not in str(component) and "sqrt" in str(component)
    w11 = sympy.Symbol("W_11", real=True)
    assert w11 in component.free_symbols


def test_the_oracle_computes_normalize_from_its_definition_text():
    d = derive("sum(normalize(x) * y)", "x", shapes={"x": "n", "y": "n"}, rules=[NORMALIZE])
    assert d.user_functions == {"normalize": "u / norm(u)"}
    x, y = np.array([3.0, 4.0]), np.array([1.0, 2.0])
    assert reference_of(d)({"x": x, "y": y}) == pytest.approx((3 + 8) / 5)


# -- refused files -------------------------------------------------------------------------------------


def _arrays(message: str, label: str) -> np.ndarray:
    found = re.search(rf"{label} \[([^\]]*)\]", message)
    assert found, message
    return np.array([float(v) for v in found.group(1).split(",")])


def test_a_wrong_vjp_is_refused_with_a_real_counter_example():
    with pytest.raises(RuleRejected) as caught:
        load_user_table([WRONG_VJP])
    message = str(caught.value)
    assert message.startswith(f"{WRONG_VJP}: array function 'normalize' refused: vjp.u = 'G / norm(u)' is wrong at n = ")
    n = int(re.search(r"at n = (\d+)", message).group(1))
    u, upstream = _arrays(message, "u ="), _arrays(message, "G =")
    expected, got = _arrays(message, "give"), _arrays(message, "gives")
    assert u.size == upstream.size == expected.size == got.size == n
    s = u / np.linalg.norm(u)  # the printed point reproduces both sides (to the 6 digits printed)
    assert np.allclose(expected, (upstream - s * (s @ upstream)) / np.linalg.norm(u), rtol=1e-4, atol=1e-5)
    assert np.allclose(got, upstream / np.linalg.norm(u), rtol=1e-4, atol=1e-5)
    assert np.max(np.abs(expected - got)) > 1e-2


def test_the_wrong_vjp_example_fails_on_the_command_line():
    result = runner.invoke(app, ["sum(normalize(x) * y)", "-w", "x", "-s", "x=n", "-s", "y=n", "--rules",
                                 str(WRONG_VJP), "-f", "text"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr
    assert "vjp.u = 'G / norm(u)' is wrong at" in result.stderr and "the formula gives" in result.stderr


def test_the_example_file_works_on_the_command_line():
    result = runner.invoke(app, ["sum(normalize(W@x) * y)", "-w", "W", "-s", "W=m,n", "-s", "x=n", "-s", "y=m",
                                 "--rules", str(NORMALIZE), "--check", "-f", "text"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "u2 = normalize(u1)" in result.stdout.replace("₁", "1").replace("₂", "2")
    assert result.stdout.rstrip().splitlines()[-1].startswith("check passed: finite differences, 5 points,")


def test_a_wrong_jacobian_is_refused_with_its_counter_example(tmp_path):
    text = NORMALIZE.read_text().replace('jacobian.u = "(eye(n) - outer(s, s)) / norm(u)"',
                                         'jacobian.u = "eye(n) / norm(u)"')
    with pytest.raises(RuleRejected, match=r"jacobian.u = 'eye\(n\) / norm\(u\)' is wrong at n = \d, u = \[.*\]: "
                                           r"central differences of normalize\(u\) give \[\[.*\]\], the formula "
                                           r"gives \[\[.*\]\]"):
        load_user_table([write(tmp_path, text)])


def test_a_definition_of_the_wrong_shape_is_refused(tmp_path):
    path = write(tmp_path, '[array_functions.f]\nsignature = "(n)->(n)"\ndefinition = "sum(u)"\nvjp.u = "G + 0*u"\n')
    with pytest.raises(RuleFileError, match=r"field 'definition' = 'sum\(u\)' has shape \(\) for \(n\)->\(n\); "
                                            r"it must be \(n,\)"):
        load_user_table([path])


def test_a_formula_nowhere_defined_is_refused(tmp_path):
    path = write(tmp_path, '[array_functions.f]\nsignature = "(n)->(n)"\ndefinition = "u"\nvjp.u = "G*sqrt(-norm(u))"\n')
    with pytest.raises(RuleRejected, match="no point where the definition 'u' and its derivatives are defined"):
        load_user_table([path])


_ENTRY = '[array_functions.f]\nsignature = "(n)->(n)"\ndefinition = "2*u"\nvjp.u = "2*G"\n'

MALFORMED = [
    ('[array_functions]\nf = 3\n', "array function 'f': must be a table with signature"),
    ('array_functions = 3\n', "[array_functions] must be a table"),
    (_ENTRY.replace('"(n)->(n)"', '"(n)->(m)"'), "field 'signature': the result's dimension 'm' is no operand's"),
    (_ENTRY.replace('"(n)->(n)"', '"n -> n"'), "field 'signature': write it as \"same\" or gufunc-style"),
    (_ENTRY.replace('"(n)->(n)"', '"(a,b,c)->(a)"'), "field 'signature': write it as"),
    (_ENTRY.replace('"(n)->(n)"', '"(),()->()"'), "at least one operand must be an array"),
    (_ENTRY.replace('"(n)->(n)"', '"(s)->(s)"'), "'s' cannot name a dimension"),
    (_ENTRY.replace('signature = "(n)->(n)"\n', ''), "field 'signature'"),
    (_ENTRY.replace('vjp.u = "2*G"\n', ''), "field 'vjp' must give the vector-Jacobian product of every slot (vjp.u)"),
    (_ENTRY.replace('"(n)->(n)"', '"(n),(n)->(n)"'), "field 'vjp' must give the vector-Jacobian product of every slot"),
    (_ENTRY + 'vjp.v = "G"\n', "field 'vjp' must give"),
    (_ENTRY + 'jacobian.w = "u"\n', "field 'jacobian' maps slots (u)"),
    (_ENTRY + 'definiton = "u"\n', "unknown field(s) definiton"),
    (_ENTRY + 'explain = 3\n', "field 'explain' must be a string"),
    (_ENTRY.replace('"2*G"', '"2*G + x"'), "field 'vjp.u' = '2*G + x': it reads 'x', which is none of u, s, G"),
    (_ENTRY.replace('"2*G"', '"2*(G"'), "field 'vjp.u' = '2*(G': syntax error"),
    (_ENTRY.replace('"2*G"', '"sum(G)"'), "field 'vjp.u' = 'sum(G)' has shape () for (n)->(n); it must be (n,)"),
    (_ENTRY.replace('"2*G"', '"normalize(G)"'), "unknown function 'normalize'"),
    (_ENTRY.replace('"2*G"', '""'), "field 'vjp.u' must be a formula"),
    (_ENTRY.replace('"(n)->(n)"', '"(m,n)->(m,n)"') + 'jacobian.u = "u"\n',
     "field 'jacobian.u': forward mode's Jacobians are of vectors"),
    (_ENTRY.replace("array_functions.f", "array_functions.softmax"), "already a built-in function ('softmax')"),
    (_ENTRY.replace("array_functions.f", "array_functions.Symbol"), "'Symbol' is the name of a SymPy class"),
    (_ENTRY + '[functions]\nf = { definition = "u" }\n', "the file's [functions] has a 'f' too"),
    (_ENTRY + '[[jacobian]]\nid = "j"\nmatch = "f"\nform = "identity"\n', "[[jacobian]] entries cannot be proven"),
    (_ENTRY.replace('"2*u"', '"2*u\\u001b"'), "holds the control character U+001B"),
]


@pytest.mark.parametrize(("text", "fragment"), MALFORMED, ids=[m[1][:50] for m in MALFORMED])
def test_a_malformed_array_function_names_the_file_the_entry_and_the_field(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as caught:
        load_user_table([path])
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert fragment in message, message
    result = runner.invoke(app, ["sin(x)", "--rules", str(path), "-f", "text"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output and "internal error" not in result.stderr


def test_two_files_cannot_declare_the_same_array_function(tmp_path):
    first, second = write(tmp_path, _ENTRY, "a.toml"), write(tmp_path, _ENTRY, "b.toml")
    with pytest.raises(RuleFileError, match=f"{re.escape(str(second))}: array function 'f': another rules file "
                                            "already declares 'f'"):
        load_user_table([first, second])


def test_a_check_still_catches_a_wrong_vjp_that_skipped_the_proof(tmp_path, monkeypatch):
    """The load-time proof is not the only witness: --check names the step where a wrong VJP is used."""
    import matcalc_sym.userrules as userrules

    monkeypatch.setattr(userrules, "_prove_array_function", lambda where, recipe: None)
    d = derive("sum(normalize(x) * y)", "x", shapes={"x": "n", "y": "n"}, rules=[WRONG_VJP], mode="reverse",
               check=True)
    assert not d.check.passed
    assert "rule 'normalize'" in d.check.failure and "disagrees with finite differences" in d.check.failure


# -- more kinds of signature ---------------------------------------------------------------------------

MORE = """
[array_functions.center]
signature = "same"
definition = "u - mean(u, axis=-1, keepdims=True)"
vjp.u = "G - mean(G, axis=-1, keepdims=True)"
jacobian.u = "eye(n) - ones(n)/n"

[array_functions.cosine]
signature = "(n),(n)->()"
definition = "sum(u*v) / (norm(u)*norm(v))"
vjp.u = "G*(v/(norm(u)*norm(v)) - s*u/norm(u)**2)"
vjp.v = "G*(u/(norm(u)*norm(v)) - s*v/norm(v)**2)"
jacobian.u = "v/(norm(u)*norm(v)) - s*u/norm(u)**2"
jacobian.v = "u/(norm(u)*norm(v)) - s*v/norm(v)**2"

[array_functions.gram]
signature = "(m,n)->(n,n)"
definition = "u.T @ u"
vjp.u = "u @ (G + G.T)"

[array_functions.scale]
signature = "(n),()->(n)"
definition = "u * v"
vjp.u = "G * v"
vjp.v = "sum(G * u)"
jacobian.u = "v * eye(n)"
jacobian.v = "u"
"""

#: (expression, wrt, shapes, mode, the rule's id, the closed form of the derivative as the result lays it out)
MORE_CASES = [
    ("sum(center(x) * y)", "x", {"x": "n", "y": "n"}, "auto", "center",
     lambda v: (v["y"] - v["y"].mean())[None, :]),
    ("sum(center(x) * y)", "x", {"x": "n", "y": "n"}, "reverse", "center",
     lambda v: (v["y"] - v["y"].mean())[None, :]),
    ("sum(center(X) * B)", "X", {"X": "m,n", "B": "m,n"}, "auto", "center",
     lambda v: v["B"] - v["B"].mean(axis=1, keepdims=True)),
    ("cosine(x, y)", "x", {"x": "n", "y": "n"}, "auto", "cosine-u",
     lambda v: (v["y"] / np.linalg.norm(v["x"]) / np.linalg.norm(v["y"])
                - (v["x"] @ v["y"]) * v["x"] / np.linalg.norm(v["x"]) ** 3 / np.linalg.norm(v["y"]))[None, :]),
    ("cosine(x, y)", "y", {"x": "n", "y": "n"}, "reverse", "cosine-v",
     lambda v: (v["x"] / np.linalg.norm(v["x"]) / np.linalg.norm(v["y"])
                - (v["x"] @ v["y"]) * v["y"] / np.linalg.norm(v["y"]) ** 3 / np.linalg.norm(v["x"]))[None, :]),
    ("cosine(x, x)", "x", {"x": "n"}, "auto", "cosine-u", lambda v: np.zeros((1, np.size(v["x"])))),
    ("cosine(x, x)", "x", {"x": "n"}, "reverse", "cosine-u", lambda v: np.zeros((1, np.size(v["x"])))),
    ("cosine(W@x, y)", "W", {"W": "m,n", "x": "n", "y": "m"}, "auto", "cosine-u", None),
    ("sum(gram(X) * A)", "X", {"X": "m,n", "A": "n,n"}, "auto", "gram",
     lambda v: v["X"] @ (v["A"] + v["A"].T)),
    ("sum(scale(x, a) * y)", "a", {"x": "n", "y": "n"}, "auto", "scale-v", lambda v: np.array([[v["x"] @ v["y"]]])),
    ("sum(scale(x, a) * y)", "a", {"x": "n", "y": "n"}, "reverse", "scale-v",
     lambda v: np.array([[v["x"] @ v["y"]]])),
    ("sum(scale(x, a) * y)", "x", {"x": "n", "y": "n"}, "auto", "scale-u", lambda v: v["a"] * v["y"][None, :]),
    ("sum(tanh(scale(W@x, a)) * y)", "W", {"W": "m,n", "x": "n", "y": "m"}, "auto", "scale-u", None),
]


@pytest.mark.parametrize(("text", "wrt", "shapes", "mode", "rule", "closed"), MORE_CASES,
                         ids=[f"{c[0]} by {c[1]} ({c[3]})" for c in MORE_CASES])
def test_every_kind_of_signature_in_both_modes(tmp_path, text, wrt, shapes, mode, rule, closed):
    d = derive(text, wrt, shapes=shapes, rules=[write(tmp_path, MORE)], mode=mode, check=True, expand=3)
    assert d.check.passed, d.check.failure
    assert d.check.steps_verified == d.check.steps_total
    assert d.expansion.equal
    assert rule in [s.rule for s in d.steps if s.kind == "differentiate"]
    values = {**values_for({k: v for k, v in shapes.items()}), "a": VALUES["a"]}
    if closed is not None:
        assert np.allclose(d.evaluate(values), closed(values), rtol=1e-10, atol=1e-12)
    module = load_exported(d.to_numpy())
    assert module["check_gradient"]() < 1e-5
    assert d.to_latex(standalone=True) and d.to_markdown() and errors(json.loads(json.dumps(d.to_dict()))) == []


def test_a_same_signature_function_keeps_its_reading_of_a_vector_and_a_matrix(tmp_path):
    """center(x) of a 1-D x and center(X) of a matrix are two signatures; the hidden choice never prints."""
    rules = [write(tmp_path, MORE)]
    vector = derive("center(x)", "x", shapes={"x": "n"}, rules=rules)
    matrix = derive("sum(center(X))", "X", shapes={"X": "m,n"}, rules=rules)
    assert str(vector.expression) == "center(x)" and str(matrix.expression) == "sum(center(X))"
    assert vector.expression.params == {"signature": 0}
    assert matrix.expression.args[0].params == {"signature": 1}
    assert "signature" not in vector.to_text() + vector.to_latex() + matrix.to_text()


def test_forward_mode_without_a_jacobian_says_to_use_reverse_mode(tmp_path):
    path = write(tmp_path, _ENTRY)
    with pytest.raises(DeriveError, match="mode='reverse'"):
        derive("sum(f(x) * y)", "x", shapes={"x": "n", "y": "n"}, rules=[path])
    d = derive("sum(f(x) * y)", "x", shapes={"x": "n", "y": "n"}, rules=[path], mode="reverse", check=True)
    assert d.check.passed and sympy.sstr(d.result) == "2*y.T"


def test_a_shape_the_signature_does_not_take_is_a_shape_error(tmp_path):
    with pytest.raises(ShapeError, match=r"normalize\(\) needs a vector \(n,\), got shape \(n, 1\)"):
        derive("sum(normalize(c))", "c", shapes={"c": "n,1"}, rules=[NORMALIZE])


# -- one meaning per rules file, in one process and across processes ----------------------------------


SCALED = """
[array_functions.normalize]
signature = "(n)->(n)"
definition = "2 * u / norm(u)"
vjp.u = "2 * (G - s*sum(G*s)/4) / norm(u)"
"""


def test_each_derivation_keeps_its_own_files_meaning(tmp_path):
    shapes, point = {"x": "n", "y": "n"}, {"x": np.array([1.0, 2.0, 2.0]), "y": np.array([0.5, -1.0, 2.0])}
    ours = derive("sum(normalize(x) * y)", "x", shapes=shapes, rules=[NORMALIZE], mode="reverse")
    theirs = derive("sum(normalize(x) * y)", "x", shapes=shapes, rules=[write(tmp_path, SCALED)], mode="reverse",
                    check=True)
    assert theirs.check.passed, theirs.check.failure
    (our_call,), (their_call,) = (
        {e for e in sympy.preorder_traversal(d.expression) if isinstance(e, user_arrays.UserCall)} for d in (ours, theirs))
    assert str(our_call) == str(their_call) == "normalize(x)"
    assert our_call != their_call and type(our_call) is not type(their_call)
    assert ours.expression != theirs.expression
    for _ in range(2):  # evaluated in turns: no cache hands one file's meaning to the other
        assert np.allclose(theirs.evaluate(point), 2 * ours.evaluate(point), rtol=1e-12)
    assert "normalize" not in REGISTRY
    with pytest.raises(ParseError, match="unknown function 'normalize'"):
        derive("sum(normalize(x) * y)", "x", shapes=shapes)


def test_the_same_file_gives_the_same_class_and_equal_results():
    shapes = {"W": "m,n", "x": "n", "y": "m"}
    first = derive("sum(normalize(W@x) * y)", "W", shapes=shapes, rules=[NORMALIZE])
    second = derive("sum(normalize(W@x) * y)", "W", shapes=shapes, rules=[NORMALIZE])
    assert first.result == second.result


def test_it_comes_back_from_the_time_limited_child():
    shapes = {"W": "m,n", "x": "n", "y": "m"}
    d = derive("sum(normalize(W@x) * y)", "W", shapes=shapes, rules=[NORMALIZE], timeout=60, check=True)
    assert d.check.passed, d.check.failure
    local = derive("sum(normalize(W@x) * y)", "W", shapes=shapes, rules=[NORMALIZE])
    assert d.result == local.result  # one class per recipe: the child's expressions are this process's
    values = values_for(shapes)
    assert np.allclose(d.evaluate(values), local.evaluate(values), rtol=1e-12)


def test_it_unpickles_into_a_process_that_never_read_the_file(monkeypatch):
    shapes = {"W": "m,n", "x": "n", "y": "m"}
    d = derive("sum(normalize(W@x) * y)", "W", shapes=shapes, rules=[NORMALIZE])
    values = values_for(shapes)
    expected = d.evaluate(values)
    data = pickle.dumps(d)
    monkeypatch.setattr(user_arrays, "_CLASSES", {})  # as in a parent that never loaded the rules file
    monkeypatch.setattr(user_arrays, "_TRANSLATIONS", {})
    back = pickle.loads(data)
    assert sympy.sstr(back.result) == RESULTS["sum(normalize(W@x) * y)"]
    with sympy.evaluate(False):  # the definition is translated here, first used inside a caller's evaluate(False)
        assert np.allclose(back.evaluate(values), expected, rtol=1e-12)
    assert np.allclose(back.evaluate(values), expected, rtol=1e-12)
    assert r"\operatorname{normalize}" in back.to_latex()
    assert load_exported(back.to_numpy())["check_gradient"]() < 1e-5


def test_the_exported_code_needs_no_builtin_an_input_could_shadow():
    """Inputs called `next`, `ravel` or `shape` are themselves; the module's own names start with `_`."""
    shapes = {"next": "m,n", "ravel": "n", "shape": "m"}
    d = derive("sum(normalize(next@ravel) * shape)", "next", shapes=shapes, rules=[NORMALIZE], check=True)
    assert d.check.passed, d.check.failure
    module = load_exported(d.to_numpy())
    assert module["check_gradient"]() < 1e-5
    values = {"next": VALUES["W"], "ravel": VALUES["x"], "shape": VALUES["y"]}
    assert np.allclose(module["f_and_grad"](**values)[1], d.evaluate(values), rtol=1e-12)
