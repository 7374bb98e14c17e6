"""The command's start-up and exit: what it loads and that its fast exit loses nothing.

`derive` ends with a flushed `os._exit` (cli.script), skipping SymPy's
interpreter teardown; these tests run the real command in a subprocess and
check every byte and exit status still arrives, and that plain formats never
load rich. Nothing here is timed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

WORKED_EXAMPLES = [
    ("a scalar chain", "sin(x**2)", "x", {}),
    ("a long output, piped", " + ".join(f"sin(x**{k})" for k in range(1, 40)), "x", {}),
]


def _derive(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matcalc_sym", *args], capture_output=True, text=True,
                          timeout=120, **kwargs)


@pytest.mark.parametrize("title, text, wrt, shapes", WORKED_EXAMPLES, ids=[w[0] for w in WORKED_EXAMPLES])
def test_fast_exit_flushes_every_format(title, text, wrt, shapes):
    from matcalc_sym import derive

    derivation = derive(text, wrt)
    expected = {"text": derivation.to_text(), "latex": derivation.to_latex() + "\n",
                "markdown": derivation.to_markdown()}
    for fmt, want in expected.items():
        done = _derive(text, "--wrt", wrt, "-f", fmt)
        assert done.returncode == 0, done.stderr
        assert done.stdout.rstrip("\n") == want.rstrip("\n"), fmt
    done = _derive(text, "--wrt", wrt, "-f", "json")
    assert json.loads(done.stdout)["result"] == derivation.to_dict()["result"]
    done = _derive(text, "--wrt", wrt, "-f", "numpy")
    module: dict = {}
    exec(compile(done.stdout, "exported.py", "exec"), module)  # the code the command wrote
    assert module["check_gradient"]() < 1e-5


def test_fast_exit_keeps_exit_statuses_and_files(tmp_path):
    assert _derive("sin(x").returncode == 2
    failed = _derive("sin(x", "-f", "text")
    assert failed.stderr.startswith("error:") and failed.stdout == ""
    target = tmp_path / "grad.tex"
    done = _derive("x*y", "--wrt", "x", "-o", str(target))
    assert done.returncode == 0 and target.read_text().startswith("\\")
    wrong = _derive("x**2", "--answer", "3*x", "-f", "text")
    assert wrong.returncode == 3 and "Result" in wrong.stdout


def test_fast_exit_into_a_closed_pipe_is_quiet():
    """`derive ... | head -1`: the reader leaves early; no traceback, and no hang."""
    done = subprocess.run(f"{sys.executable} -m matcalc_sym 'sin(x**2)' -f text | head -1", shell=True,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("dy/dx")
    assert "Traceback" not in done.stderr


def test_library_and_main_return_normally():
    """Only the command ends the process: `main` raises SystemExit as before, a library call returns."""
    probe = ("import matcalc_sym.cli as c\n"
             "try:\n    c.main(['x**2', '-f', 'json'])\nexcept SystemExit as e:\n    print('exit', e.code)\n"
             "from matcalc_sym import derive\nprint(derive('x**2').result)\nprint('still here')\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-3:] == ["exit 0", "2*x", "still here"]
