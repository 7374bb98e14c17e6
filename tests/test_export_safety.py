"""Exported NumPy modules: nothing typed becomes code, and no name shadows the module's own.

Importing a generated module runs it. Every case of `hostile_cases.EXPORTS`
is an input the parser accepts (comments may hold any printable text, names
may be `numpy` or `value`), exported three ways (`to_numpy()`, `-f numpy`,
`-o grad.py`) and imported by a fresh interpreter under an audit hook that
fails on starting a process, on `os.system`, and on opening a file for
writing; a canary file that an injection would create must stay absent.
"""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from tests.hostile_cases import EXPORTS

runner = CliRunner()

#: imports every module named on the command line under an audit hook; prints what each check_gradient gave
_IMPORTER = textwrap.dedent('''
    import importlib.util, json, sys
    import numpy  # imported before the hook: its own start-up is not under test
    numpy.random.default_rng(0).normal(size=3)
    FORBIDDEN = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "subprocess.Popen", "pty.spawn")
    events = []
    def hook(event, args):
        if event.startswith(FORBIDDEN):
            events.append(event)
        elif event == "open" and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
            events.append(f"open for writing: {args[0]}")
        elif event == "open" and isinstance(args[2], int) and args[2] & 0o3:
            events.append(f"open for writing: {args[0]}")
        elif event == "compile" and args[1] not in sys.argv[1:]:
            events.append(f"compile {args[1]}: {str(args[0])[:80]}")
    sys.addaudithook(hook)
    results = {}
    for path in sys.argv[1:]:
        spec = importlib.util.spec_from_file_location("exported", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        results[path] = [module.check_gradient(), module.SOURCE_BASE64]
    print(json.dumps({"events": events, "results": results}))
''')


def _text(template: str, canary: Path) -> str:
    return template.replace("{canary}", str(canary)).replace("{{", "{").replace("}}", "}")


def _import_all(paths: list[Path], cwd: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _IMPORTER, *map(str, paths)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_hostile_inputs_export_modules_that_import_without_side_effects(tmp_path):
    canary = tmp_path / "CANARY"
    paths, sources = [], {}
    for key, template, wrt in EXPORTS:
        text = _text(template, canary)
        library = tmp_path / f"{key.replace('-', '_')}_library.py"
        library.write_text(derive(text, wrt).to_numpy(), encoding="utf-8")
        to_stdout = runner.invoke(app, [text, "-w", wrt, "-f", "numpy"])
        assert to_stdout.exit_code == 0, to_stdout.stderr
        printed = tmp_path / f"{key.replace('-', '_')}_stdout.py"
        printed.write_text(to_stdout.stdout, encoding="utf-8")
        written = tmp_path / f"{key.replace('-', '_')}_file.py"
        result = runner.invoke(app, [text, "-w", wrt, "-o", str(written)])
        assert result.exit_code == 0, result.stderr
        for path in (library, printed, written):
            paths.append(path)
            sources[str(path)] = text
    report = _import_all(paths, tmp_path)
    assert report["events"] == []
    assert not canary.exists()
    for path, (worst, encoded) in report["results"].items():
        assert worst < 1e-5, path
        assert base64.b64decode(encoded).decode("utf-8") == sources[path]  # kept, exactly, but never as text


@pytest.mark.parametrize(("key", "template", "wrt"), EXPORTS, ids=[c[0] for c in EXPORTS])
def test_no_input_text_reaches_a_comment_or_string_of_the_module(key, template, wrt, tmp_path):
    import io
    import tokenize

    text = _text(template, tmp_path / "CANARY")
    code = derive(text, wrt).to_numpy()
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type in (tokenize.STRING, tokenize.COMMENT):
            assert "CANARY" not in token.string and "touch" not in token.string and "oops" not in token.string


def _load(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "exported.py", "exec"), namespace)  # the test runs the code the tool generated
    return namespace


@pytest.mark.parametrize("name", ["value", "numpy", "float", "math", "functools", "operator", "derivative",
                                  "f_and_grad", "SHAPES", "check_gradient", "d_x", "np", "int", "dict"])
def test_a_variable_named_like_the_module_own_names_is_still_itself(name):
    module = _load(derive(f"sin({name}) * x", f"{name},x").to_numpy())
    value, gradient = module["f_and_grad"](**{name: 0.3, "x": 2.0})
    assert value == pytest.approx(math.sin(0.3) * 2.0)
    assert gradient.tolist()[0] == pytest.approx([math.cos(0.3) * 2.0, math.sin(0.3)])
    assert module["check_gradient"]() < 1e-5


def test_value_as_the_only_variable():
    """`sin(value)`: the module returned cos(sin(value)) when its own `value` overwrote the input."""
    module = _load(derive("sin(value)", "value").to_numpy())
    value, gradient = module["f_and_grad"](value=0.3)
    assert value == pytest.approx(math.sin(0.3))
    assert float(gradient) == pytest.approx(math.cos(0.3))


def test_a_wrt_the_output_does_not_use_is_an_input_with_derivative_zero():
    module = _load(derive("sin(x**2)", "x,y").to_numpy())
    value, gradient = module["f_and_grad"](x=0.5, y=7.0)
    assert value == pytest.approx(math.sin(0.25))
    assert gradient.tolist()[0] == pytest.approx([2 * 0.5 * math.cos(0.25), 0.0])
    assert module["check_gradient"]() < 1e-5
    only_y = _load(derive("sin(x**2)", "y").to_numpy())
    assert float(only_y["f_and_grad"](x=0.5, y=7.0)[1]) == 0.0
    assert only_y["check_gradient"]() == 0.0


def test_erf_needs_no_missing_import_and_works_on_arrays():
    module = _load(derive("erf(x)*erfc(x)", "x").to_numpy())
    value, gradient = module["f_and_grad"](x=0.4)
    assert float(value) == pytest.approx(math.erf(0.4) * math.erfc(0.4))
    assert module["check_gradient"]() < 1e-5
    vector = _load(derive("sum(erf(w))", "w", shapes={"w": "n"}).to_numpy())
    value, gradient = vector["f_and_grad"](w=[0.1, 0.2, 0.3])
    assert float(value) == pytest.approx(sum(math.erf(v) for v in (0.1, 0.2, 0.3)))
    assert vector["check_gradient"]() < 1e-5


def test_a_rules_file_function_is_exported_through_its_definition():
    rules = Path(__file__).parent.parent / "examples" / "softplus.toml"
    module = _load(derive("softplus(x**2)", "x", rules=[rules]).to_numpy())
    value, gradient = module["f_and_grad"](x=0.7)
    assert float(value) == pytest.approx(math.log(1 + math.exp(0.49)))
    assert float(gradient) == pytest.approx(2 * 0.7 / (1 + math.exp(-0.49)))
    assert module["check_gradient"]() < 1e-5


def test_an_upstream_gradient_and_a_variable_of_the_same_spelling_stay_apart():
    d = derive("c = tanh(W@x) + dJ_dc", "W", shapes={"W": "m,n", "x": "n", "dJ_dc": "m"})
    module = _load(d.to_numpy())
    assert module["UPSTREAM"] not in ("dJ_dc", None)
    assert set(module["SHAPES"]) == {"W", "x", "dJ_dc", module["UPSTREAM"]}
    assert module["check_gradient"]() < 1e-5


def test_a_function_without_a_numpy_counterpart_is_a_clear_error():
    from matcalc_sym.errors import DeriveError

    with pytest.raises(DeriveError, match="no NumPy counterpart for polygamma"):
        derive("gamma(x)", "x").to_numpy()
    result = runner.invoke(app, ["gamma(x)", "-f", "numpy"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot export to NumPy")


@pytest.mark.parametrize("text, wrt, shapes", [
    ("sum(" + "tanh(A@" * 49 + "w" + ")" * 49 + ")", "w", {"w": "n", "A": "n,n"}),
    ("sin(" * 99 + "x" + ")" * 99, "x", {}),
], ids=["deep-matrix-chain", "deep-sin"])
def test_deep_expressions_export_modules_python_can_compile(text, wrt, shapes):
    module = _load(derive(text, wrt, shapes=shapes).to_numpy())
    assert module["check_gradient"]() < 1e-5


@pytest.mark.parametrize(("text", "wrt", "shapes"), [
    ("erf(x)*max(x, y) + where(x > y, x, 0)", "x,y", {}),
    ("c = tanh(Wc@cp + Wx@x + b)", "Wx", {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}),
    ("mean((y - max(0, X@w + b))**2)", "w", {"X": "N,n", "y": "N", "w": "n"}),
    ("+".join(f"a{i}" for i in range(40)) + " + " + "*".join(f"a{i}" for i in range(40)), "a0", {}),
], ids=["scalar-cases", "backprop", "vector", "long-chains"])
def test_f_and_grad_refers_only_to_its_inputs_and_to_underscored_names(text, wrt, shapes):
    """Every name f_and_grad reads is an input, a name it assigned, or starts with `_` (which no input can)."""
    import ast

    code = derive(text, wrt, shapes=shapes).to_numpy()
    assert code.isascii()
    function = next(n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef) and n.name == "f_and_grad")
    parameters = {a.arg for a in function.args.kwonlyargs}
    stored = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    read = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    outside = {name for name in read - parameters - stored if not name.startswith("_")}
    assert outside == set()
    assert {name for name in stored - parameters if not name.startswith("_")} <= {"nc", "nx", "m", "N", "n", "c"}
    assert _load(code)["check_gradient"]() < 1e-5
