"""Hostile input: refused with exit status 2 and one `error:` line, fast, and nothing runs.

Each case runs three ways: the parser in-process (timed on its own, so the
"well under a second" bound is not interpreter start-up), the command through
typer's CliRunner (exit status, one error line, no traceback, empty stdout),
and, for a representative subset, `python -m matcalc_sym` as a real
subprocess in a temporary directory. A canary file that an injection would
create must stay absent, and an audit hook records any attempt to run code or
start a process while the parser works.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from matcalc_sym.cli import app
from matcalc_sym.errors import ParseError, ShapeError
from matcalc_sym.parse import parse
from tests.hostile_cases import EXPRESSIONS, OPTIONS, SHAPES

PARSE_SECONDS = 0.25  # in-process parse of one hostile input
CLI_SECONDS = 1.0  # one in-process command, including the fork of the bounded child
_FORBIDDEN_EVENTS = ("exec", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
                     "ctypes.dlopen", "builtins.input")
_events: list[str] = []
_watching = [False]


def _audit(event: str, args) -> None:
    if not _watching[0] or not event.startswith(_FORBIDDEN_EVENTS):
        return
    if event == "exec" and not getattr(args[0], "co_filename", "<").startswith("<"):
        return  # a module imported from a file on first use; code made from text is named <string>
    _events.append(event)


sys.addaudithook(_audit)
runner = CliRunner()


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "CANARY"
    yield path
    assert not path.exists(), "an injected command ran"


def _text(template: str, canary) -> str:
    return template.replace("{canary}", str(canary)).replace("{{", "{").replace("}}", "}")


def _assert_one_error_line(result, fragment: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("error:")] == [lines[0]]
    assert fragment in lines[0]
    assert len(lines) in (1, 3)  # the error, and the input with a caret when a column is known
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in EXPRESSIONS], ids=[c[0] for c in EXPRESSIONS])
def test_hostile_expression_is_refused_in_process(text, fragment, canary):
    text = _text(text, canary)
    _events.clear()
    _watching[0] = True
    start = time.perf_counter()
    try:
        parse(text)
    except (ParseError, ShapeError):
        pass
    else:
        assert fragment == "no variables", "parsed without complaint"
    finally:
        _watching[0] = False
    assert time.perf_counter() - start < PARSE_SECONDS
    assert _events == []

    start = time.perf_counter()
    result = runner.invoke(app, [text, "-f", "text"])
    assert time.perf_counter() - start < CLI_SECONDS
    _assert_one_error_line(result, fragment)


@pytest.mark.parametrize(("text", "shapes", "fragments"), [c[1:] for c in SHAPES], ids=[c[0] for c in SHAPES])
def test_mixed_up_shapes_name_both_shapes_and_the_operator(text, shapes, fragments):
    start = time.perf_counter()
    with pytest.raises(ShapeError) as info:
        parse(text, shapes)
    assert time.perf_counter() - start < PARSE_SECONDS
    for fragment in fragments:
        assert fragment in str(info.value)
    options = [item for name, dims in shapes.items() for item in ("-s", f"{name}={dims}")]
    result = runner.invoke(app, [text, *options, "-f", "text"])
    _assert_one_error_line(result, fragments[0])


@pytest.mark.parametrize(("options", "fragment"), [c[1:] for c in OPTIONS], ids=[c[0] for c in OPTIONS])
def test_hostile_options_are_refused(options, fragment, canary):
    start = time.perf_counter()
    result = runner.invoke(app, ["w*x", "-w", "x", *options, "-f", "text"])
    assert time.perf_counter() - start < CLI_SECONDS
    _assert_one_error_line(result, fragment)


def test_there_are_at_least_sixty_hostile_cases():
    assert len(EXPRESSIONS) + len(SHAPES) + len(OPTIONS) >= 60
    assert len({c[0] for c in EXPRESSIONS + SHAPES + OPTIONS}) == len(EXPRESSIONS) + len(SHAPES) + len(OPTIONS)


_SUBPROCESS = ["bases-walk", "import-call", "import", "lambda", "genexp", "f-string", "eval", "open",
               "fullwidth-eval", "deep-parens", "tower", "factorial", "gamma", "empty"]


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in EXPRESSIONS if c[0] in _SUBPROCESS], ids=lambda c: c[0])
def test_hostile_expression_in_a_real_process(case, tmp_path):
    """The installed command in a fresh interpreter; the bound here includes start-up (about 1 s, mostly importing SymPy)."""
    _, template, fragment = case
    canary = tmp_path / "CANARY"
    text = _text(template, canary)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "matcalc_sym", text], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error:") and fragment in lines[0]
    assert sum(line.startswith("error:") for line in lines) == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout == ""
    assert not canary.exists()
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere in the working directory
    assert elapsed < 10.0


@pytest.mark.parametrize(("argv", "fragment"), [
    (["x", "--layout", "sideways"], "'--layout'"),
    (["x", "--timeout", "soon"], "'--timeout'"),
    (["x", "--evil"], "--evil"),
    ([], "EXPR"),
], ids=["bad-choice", "bad-number", "unknown-option", "no-expression"])
def test_usage_errors_through_the_console_script_are_one_line(argv, fragment, capsys):
    from matcalc_sym.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    assert fragment in captured.err
    assert "Traceback" not in captured.err
