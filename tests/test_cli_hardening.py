"""The command's edges: exit statuses, output files and devices, options given twice, a leading minus, --version."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcalc_sym import __version__
from matcalc_sym.cli import app, main

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def _main(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def _process(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "matcalc_sym", *args], env=env, timeout=60, **kwargs)


def test_version(capsys):
    assert _main(["--version"], capsys) == (0, f"derive (matcalc-sym) {__version__}\n", "")


@pytest.mark.parametrize(("argv", "fragment"), [
    (["-x**2", "-f", "text"], "-2⋅x"),
    (["-f", "text", "-x**2"], "-2⋅x"),
    (["-x", "-f", "text"], "── = -1"),
    (["-(x + 1)**2", "-f", "text"], "── = -2 - 2⋅x"),
    (["-sum(y*log(p))", "-w", "p", "-s", "y=n", "-s", "p=n", "-f", "text"], "df/dp  of  -sum(y*log(p))"),
])
def test_an_expression_may_start_with_a_minus(argv, fragment, capsys):
    """Most losses start with a minus; `derive "-x**2"` was "No such option: -x"."""
    code, out, err = _main(argv, capsys)
    assert (code, err) == (0, "")
    assert fragment in out


def test_options_that_look_like_expressions_stay_options(capsys):
    code, out, err = _main(["w*x", "-sw=n", "-sx=n", "-ww", "-f", "json"], capsys)
    assert (code, err) == (0, "")
    assert '"shapes": {\n    "w": "n",\n    "x": "n"\n  }' in out
    code, out, err = _main(["x", "--timeout", "-1"], capsys)
    assert code == 2 and err.startswith("error: timeout must be")


def test_a_shape_given_twice_is_an_error():
    result = runner.invoke(app, ["x", "-s", "x=n", "-s", "x=m"])
    assert result.exit_code == 2
    assert result.stderr == "error: --shape 'x' is given twice (n and m); declare each name once\n"


@pytest.mark.parametrize("name", ["steps.svg", "steps.pdf", "steps"])
def test_an_output_file_of_an_unknown_kind_is_refused_unless_the_format_is_given(tmp_path, name):
    target = tmp_path / name
    result = runner.invoke(app, ["sin(x**2)", "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot tell the format of '{target}'")
    assert "use one of .dot .html .json .md .py .tex .txt, or say which with --format" in result.stderr
    assert not target.exists()
    assert runner.invoke(app, ["sin(x**2)", "-o", str(target), "-f", "latex"]).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith(r"\textbf{Derivative of}")


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    """A write beyond `ulimit -f` (or a full disk) used to leave a truncated file where the old one was."""
    target = tmp_path / "steps.tex"
    target.write_text("the previous document\n", encoding="utf-8")
    big = "+".join(f"sin({k}*x)" for k in range(1, 80))
    done = _process([big, "-o", str(target)], capture_output=True, text=True, preexec_fn=_limit_file_size)
    assert done.returncode == 74
    assert done.stderr.startswith(f"error: cannot write {target}: File too large; the previous file, if any, "
                                  "is unchanged")
    assert done.stderr.count("\n") == 1
    assert target.read_text(encoding="utf-8") == "the previous document\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.tex"]  # no temporary left behind


def test_an_output_file_is_replaced_whole_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "steps.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    assert runner.invoke(app, ["sin(x**2)", "-o", str(target)]).exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("{")
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.json"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_standard_output_is_one_error_line():
    with open("/dev/full", "w") as full:
        done = _process(["sin(x**2)", "-f", "text"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 74
    assert done.stderr == "error: cannot write to standard output: No space left on device\n"


def test_an_internal_error_has_its_own_status_and_asks_for_a_report(monkeypatch):
    import matcalc_sym.api as api

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(api, "_derive", broken)  # the forked worker inherits it
    result = runner.invoke(app, ["sin(x**2)", "-f", "text"])
    assert result.exit_code == 70
    assert result.stderr == "error: internal error: ZeroDivisionError: a bug\n"


def test_an_internal_error_in_the_command_itself_is_status_70(monkeypatch, capsys):
    import matcalc_sym.cli as cli

    def broken(text, output):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_write", broken)
    code, out, err = _main(["sin(x**2)", "-f", "text"], capsys)
    assert code == 70
    assert err == "error: internal error (RuntimeError: a bug); please report it\n"


def test_bad_input_stays_status_2(capsys):
    code, out, err = _main(["sin(x", "-f", "text"], capsys)
    assert code == 2 and err.startswith("error: syntax error")
