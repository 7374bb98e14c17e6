"""User rules files (`--rules FILE`): new functions, strict errors, rules proven at load time."""

import math
import pickle
import re

import pytest
import sympy
from typer.testing import CliRunner

from matcalc_sym import derive, functions
from matcalc_sym.cli import app
from matcalc_sym.ruletable import RuleFileError
from matcalc_sym.userfunctions import _REGISTRY, UserFunction
from matcalc_sym.userrules import RuleRejected, load_user_table

runner = CliRunner()

SOFTPLUS = """
[functions]
softplus = { definition = "log(1 + exp(u))" }

[[rule]]
id = "softplus"
op = "softplus"
partials = { u = "sigmoid(u)" }
explain = "softplus is a smooth ReLU; its slope is the logistic sigmoid"
source = "user file"
"""


def write(tmp_path, text, name="rules.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_a_user_function_displays_as_itself_and_its_rule_fires(tmp_path):
    path = write(tmp_path, SOFTPLUS)
    d = derive("softplus(x**2)", rules=[path], check=True)
    assert [s.rule for s in d.steps if s.kind == "differentiate"] == ["power", "softplus"]
    assert str(d.steps[1].rhs) == "softplus(u1)"
    assert sympy.sstr(d.result) == "2*x*sigmoid(x**2)"
    assert d.evaluate({"x": 0.5}) == pytest.approx(2 * 0.5 * sigmoid(0.25))
    assert d.check.passed and d.check.steps_verified == 2
    assert "softplus" in d.to_text()


def test_a_user_function_evaluates_through_its_definition(tmp_path):
    d = derive("softplus(x)*y", "y", rules=[write(tmp_path, SOFTPLUS)])
    assert d.evaluate({"x": 0.3, "y": 2.0}) == pytest.approx(math.log1p(math.exp(0.3)))


def test_a_user_function_works_element_wise_on_vectors(tmp_path):
    d = derive("sum(softplus(w))", "w", shapes={"w": "n"}, rules=[write(tmp_path, SOFTPLUS)], check=True)
    assert d.check.passed, d.check.failure
    got = d.evaluate({"w": [0.5, -1.0, 2.0]})
    assert got.shape == (1, 3)
    assert list(got[0]) == pytest.approx([sigmoid(0.5), sigmoid(-1.0), sigmoid(2.0)])


def test_a_user_function_comes_back_from_the_time_limited_child(tmp_path):
    d = derive("softplus(3*x)", rules=[write(tmp_path, SOFTPLUS)], timeout=30, check=True)
    assert sympy.sstr(d.result) == "3*sigmoid(3*x)"
    assert isinstance(d.expression, UserFunction)
    assert d.check.passed


def test_user_functions_pickle_by_recipe_into_a_fresh_process_state(tmp_path):
    d = derive("softplus(x)", rules=[write(tmp_path, SOFTPLUS)])
    data = pickle.dumps(d)
    _REGISTRY.clear()  # as in a parent process that never read the rules file
    back = pickle.loads(data)
    assert str(back.expression) == "softplus(x)"
    assert back.expression.evalf(subs={sympy.Symbol("x", real=True): 0}) == pytest.approx(math.log(2))
    x = sympy.Symbol("x", real=True)
    assert sympy.diff(back.expression, x) == functions.sigmoid(x)


def test_the_cli_reads_rules_files(tmp_path):
    path = write(tmp_path, SOFTPLUS)
    result = runner.invoke(app, ["softplus(x**2)", "--rules", str(path), "--check", "-f", "text"],
                           env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "softplus" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("check passed: sympy.diff, finite differences, 5 points,")


def test_a_wrong_rule_is_refused_with_its_counter_example(tmp_path):
    path = write(tmp_path, SOFTPLUS.replace('u = "sigmoid(u)"', 'u = "exp(u)"'))
    with pytest.raises(RuleRejected) as caught:
        derive("softplus(x)", rules=[path])
    message = str(caught.value)
    match = re.fullmatch(
        rf"{path}: rule 'softplus' for softplus refused: partials\.u = 'exp\(u\)' is wrong at u = (\S+): "
        r"sympy\.diff gives (\S+), the rule gives (\S+)", message)
    assert match, message
    u, expected, got = (float(g) for g in match.groups())
    assert expected == pytest.approx(sigmoid(u), rel=1e-5) and got == pytest.approx(math.exp(u), rel=1e-5)
    assert caught.value.exit_code == 2


def test_a_wrong_rule_for_a_shipped_function_is_refused_on_the_command_line(tmp_path):
    path = write(tmp_path, '[[rule]]\nid = "bad-sin"\nop = "sin"\npartials = { u = "-cos(u)" }\n')
    result = runner.invoke(app, ["sin(x)", "--rules", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}: rule 'bad-sin' for sin refused: partials.u = '-cos(u)' is wrong")
    assert len(result.stderr.splitlines()) == 1


def test_a_right_rule_for_a_shipped_function_is_used_first(tmp_path):
    path = write(tmp_path, '[[rule]]\nid = "my-sin"\nop = "sin"\npartials = { u = "sin(u + pi/2)" }\n')
    d = derive("sin(x**2)", rules=[path], check=True)
    assert "my-sin" in [s.rule for s in d.steps]
    assert d.check.passed


def test_a_definition_without_a_rule_stays_a_shorthand(tmp_path):
    path = write(tmp_path, '[functions]\ncube = { definition = "u**3" }\n')
    d = derive("cube(sin(x))", rules=[path], check=True)
    assert sympy.sstr(d.expression) == "sin(x)**3"
    assert d.check.passed


MALFORMED = [
    ("[[rule]\nid = 1", "not valid TOML"),
    ('[[rule]]\nid = "r"\nop = "softpls"\npartials = { u = "1" }\n',
     "rule 'r': field 'op': unknown function 'softpls'"),
    ('[[rule]]\nid = "r"\nop = "sin"\n', "rule 'r': field 'partials' must map slots"),
    ('[[rule]]\nid = "r"\nop = "sin"\npartials = { x = "cos(u)" }\n', "rule 'r': field 'partials.x': slots are u, v and w"),
    ('[[rule]]\nid = "r"\nop = "sin"\npartials = { u = "cos(u" }\n', "rule 'r': field 'partials.u' = 'cos(u'"),
    ('[[rule]]\nid = "r"\nop = "sin"\npartials = { u = "cosine(u)" }\n',
     "rule 'r': field 'partials.u' = 'cosine(u)': unknown function 'cosine'"),
    ('[[rule]]\nid = "r"\nop = "sin"\npartials = { u = "cos(z)" }\n', "rule 'r': field 'partials.u' = 'cos(z)'"),
    ('[[rule]]\nid = "r"\nop = "sin"\npartials = { u = 3 }\n', "rule 'r': field 'partials.u' must be a template"),
    ('[[rule]]\nid = "r"\nop = "sin"\narity = "one"\npartials = { u = "cos(u)" }\n',
     "rule 'r': field 'arity' must be 1, 2 or 3"),
    ('[[rule]]\nid = "r"\nop = "mul"\ndepends = "u"\npartials = { u = "v" }\n', "rule 'r': field 'depends'"),
    ('[[rule]]\nid = "r"\nop = "sin"\npartial = { u = "cos(u)" }\n', "rule 'r': unknown field(s) partial"),
    ('[[rule]]\nop = "sin"\npartials = { u = "cos(u)" }\n', "rule '#1': field 'id' must be a non-empty string"),
    ('[functions]\nsoftplus = "log(1 + exp(u))"\n', "function 'softplus': must be a table"),
    ('[functions]\nsoftplus = { definition = "log(1 + exp(u)" }\n', "function 'softplus': field 'definition'"),
    ('[functions]\nsoftplus = { definition = "log(1 + exp(u))", arity = 0 }\n',
     "function 'softplus': field 'arity' must be 1, 2 or 3"),
    ('[functions]\nsoftplus = { defintion = "log(1 + exp(u))" }\n', "function 'softplus': unknown field(s) defintion"),
    ('[rules]\nid = "r"\n', "unknown table(s) rules"),
    ('[[vjp]]\nid = "v"\nmatch = "matmul"\nform = "matmul-left"\n', "[[vjp]] entries cannot be proven"),
    ('[functions]\nsin = { definition = "u" }\n', "function 'sin': already a built-in function"),
    ('[functions]\n"soft-plus" = { definition = "u" }\n', "function 'soft-plus': a function name is letters"),
    ('[functions]\nfoo = { sympy = "os" }\n', "function 'foo': field 'sympy': 'os' is not a SymPy function"),
    ('[functions]\nfoo = { sympy = 3 }\n', "function 'foo': field 'sympy' must be a string"),
]


@pytest.mark.parametrize(("text", "fragment"), MALFORMED, ids=[m[1][:40] for m in MALFORMED])
def test_a_malformed_file_names_the_file_the_entry_and_the_field(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as caught:
        load_user_table([path])
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert fragment in message, message
    result = runner.invoke(app, ["sin(x)", "--rules", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and fragment.split(":")[0] in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_rules_file_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["sin(x)", "--rules", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert result.stderr == f"error: rules file '{tmp_path / 'nope.toml'}' does not exist\n"


def test_the_example_rules_file_works_from_the_command_line():
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "softplus.toml"
    result = runner.invoke(app, ["sum(softplus(w))", "--shape", "w=n", "--rules", str(path), "--check", "-f", "text"],
                           env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "softplus" in result.stdout and "(sigmoid(w))" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("check passed: finite differences, 5 points,")


def _nested_arrays(depth: int) -> str:
    return '[functions]\nfoo = { definition = "u", aliases = ' + "[" * depth + "]" * depth + " }\n"


#: (id, file text, fragment of the one error line): each gave "internal error" or silently wrong results
HOSTILE_FILES = [
    ("alias-overrides-builtins", '[functions]\ncube = { definition = "u**3", aliases = ["sin", "exp"] }\n',
     "function 'cube': field 'aliases': already a built-in function ('sin')"),
    ("alias-not-a-list", '[functions]\ncube = { definition = "u**3", aliases = "c" }\n',
     "function 'cube': field 'aliases' must be a list of names"),
    ("sympy-Function", '[functions]\nfoo = { sympy = "Function" }\n',
     "function 'foo': field 'sympy': 'Function' is not a SymPy function of numbers"),
    ("sympy-Piecewise", '[functions]\nfoo = { sympy = "Piecewise" }\n',
     "function 'foo': field 'sympy': 'Piecewise' is not a SymPy function of numbers"),
    ("sympy-wrong-arity", '[functions]\nfoo = { sympy = "erf", arity = 2 }\n',
     "function 'foo': field 'arity': erf does not take [2] argument(s)"),
    ("sin-with-two-arguments", '[[rule]]\nid = "sin2"\nop = "sin"\narity = 2\npartials = { u = "cos(u)" }\n',
     "rule 'sin2': field 'arity': sin takes 1 argument(s)"),
    ("slot-beyond-arity", '[[rule]]\nid = "s"\nop = "sin"\npartials = { u = "cos(u)", v = "0" }\n',
     "rule 's': field 'partials.v': sin has the slot(s) u"),
    ("depends-nested", '[[rule]]\nid = "s"\nop = "sin"\ndepends = [["u"]]\npartials = { u = "cos(u)" }\n',
     "rule 's': field 'depends' must be a list of slots"),
    ("nested-arrays", _nested_arrays(50), "function 'foo': field 'aliases': an alias is letters, digits and '_'"),
    ("deep-arrays", _nested_arrays(100_000), "nested too deeply to be a rules file"),
    ("named-Symbol", '[functions]\nSymbol = { definition = "u**2" }\n[[rule]]\nid = "r"\nop = "Symbol"\n'
                     'partials = { u = "2*u" }\n', "function 'Symbol': 'Symbol' is the name of a SymPy class"),
    ("named-Float", '[functions]\nFloat = { definition = "u**2" }\n', "'Float' is the name of a SymPy class"),
    ("named-Piecewise", '[functions]\nPiecewise = { definition = "u**2" }\n',
     "'Piecewise' is the name of a SymPy class"),
    ("named-Elementwise", '[functions]\nElementwise = { definition = "u**2" }\n',
     "'Elementwise' is the name of a SymPy class"),
    ("escape-in-id", '[functions]\nsp = { definition = "log(1 + exp(u))" }\n[[rule]]\nid = "sp\\u001b[31m"\n'
                     'op = "sp"\npartials = { u = "sigmoid(u)" }\n', "holds the control character U+001B"),
    ("escape-in-explain", '[[rule]]\nid = "s"\nop = "sin"\npartials = { u = "cos(u)" }\nexplain = "\\u001b[2J"\n',
     "field 'rule[0].explain' holds the control character U+001B"),
    ("bidi-override-in-source", '[[rule]]\nid = "s"\nop = "sin"\npartials = { u = "cos(u)" }\n'
                                'source = "x\\u202ey"\n', "holds the control character U+202E"),
    ("array-function-kind", '[functions]\nfoo = { definition = "u", kind = "matrix" }\n',
     "field 'kind': a rules file defines element-wise functions only"),
    ("too-large", "# " + "x" * 1_000_001 + "\n", "bytes; the limit is 1000000"),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in HOSTILE_FILES], ids=[c[0] for c in HOSTILE_FILES])
def test_a_hostile_or_malformed_rules_file_is_one_clear_error(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(RuleFileError) as caught:
        derive("sin(x) + exp(x)", rules=[path])
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)
    result = runner.invoke(app, ["sin(x) + exp(x)", "--rules", str(path), "-f", "text"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


def test_an_alias_can_no_longer_change_what_sin_means(tmp_path):
    path = write(tmp_path, '[functions]\ncube = { definition = "u**3", aliases = ["cb"] }\n')
    x = sympy.Symbol("x", real=True)
    assert derive("sin(x) + cb(x)", rules=[path]).result == sympy.cos(x) + 3 * x**2


def test_a_rules_file_is_read_once(tmp_path, monkeypatch):
    """The validated data is the data used: a file swapped after validation cannot slip anything in."""
    from pathlib import Path

    path = write(tmp_path, SOFTPLUS)
    reads = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or original(self))
    load_user_table([path])
    assert reads.count(path) == 1
