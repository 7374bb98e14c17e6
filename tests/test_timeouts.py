"""Valid but expensive input is stopped by the time limit, which names the stage.

The inputs were measured on the development machine without a limit: the
power of a long sum spends more than 30 s in `simplify`; the chain of twenty
statements (2**20 paths from x to the output) more than 40 s in `derive`.
Rendering has no such input any more (large expressions print in one line,
long derivations one line per step), so a slowed-down renderer stands in.
"""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from matcalc_sym import derive
from matcalc_sym.cli import app
from matcalc_sym.errors import LimitExceeded

POWER_OF_SUM = "(" + "+".join(f"x**{i}" for i in range(1, 13)) + ")**40"
PATHS = "z0 = x; " + "; ".join(f"z{i} = sin(z{i - 1}) + cos(z{i - 1})" for i in range(1, 21))
runner = CliRunner()


@pytest.mark.parametrize(("text", "stage"), [(POWER_OF_SUM, "simplify"), (PATHS, "derive")],
                         ids=["power-of-sum", "many-paths"])
def test_library_timeout_names_the_stage(text, stage):
    start = time.monotonic()
    with pytest.raises(LimitExceeded) as info:
        derive(text, wrt="x", timeout=1)
    assert time.monotonic() - start < 3.0
    assert info.value.stage == stage
    assert info.value.exit_code == 4
    assert str(info.value) == f"timed out after 1 s while in stage '{stage}'"


@pytest.mark.parametrize(("text", "stage"), [(POWER_OF_SUM, "simplify"), (PATHS, "derive")],
                         ids=["power-of-sum", "many-paths"])
def test_command_timeout_is_exit_4_naming_the_stage(text, stage):
    start = time.monotonic()
    result = runner.invoke(app, [text, "-w", "x", "--timeout", "1", "-f", "text"])
    assert time.monotonic() - start < 3.0
    assert result.exit_code == 4
    assert result.stderr == f"error: timed out after 1 s while in stage '{stage}'\n"
    assert result.stdout == ""


def test_command_names_the_render_stage_when_rendering_runs_out(monkeypatch):
    import matcalc_sym.cli as cli

    def slow_render(*args, **kwargs):
        time.sleep(5)

    monkeypatch.setattr(cli, "_render", slow_render)  # the forked child inherits it
    start = time.monotonic()
    result = runner.invoke(app, ["sin(x**2)", "--timeout", "1", "-f", "text"])
    assert time.monotonic() - start < 3.0
    assert result.exit_code == 4
    assert result.stderr == "error: timed out after 1 s while in stage 'render'\n"
    assert result.stdout == ""


def test_parse_stage_is_named_when_parsing_is_what_runs_out(monkeypatch):
    import matcalc_sym.api as api

    def slow_parse(*args, **kwargs):
        time.sleep(5)

    monkeypatch.setattr(api, "parse", slow_parse)
    with pytest.raises(LimitExceeded) as info:
        derive("x", timeout=0.5)
    assert info.value.stage == "parse"


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), 1e300])
def test_nonsense_time_limits_are_refused(timeout):
    with pytest.raises(Exception) as info:
        derive("x", timeout=timeout)
    assert info.value.exit_code == 2
    assert "timeout must be" in str(info.value)
