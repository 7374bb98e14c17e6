"""Valid but expensive input is stopped by the time limit, which names the stage.

The inputs were measured on the development machine without a limit: the
power of a long sum spends more than 30 s in `simplify`; the chain of twenty
statements (2**20 paths from x to the output) more than 40 s in `derive`; the
sum of 149 tanh terms derives in 0.3 s but takes 1.8 s to render its 2000
steps as text.
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
MANY_TERMS = "+".join(f"tanh(x**{k % 7 + 2} - {k})" for k in range(1, 150))
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


@pytest.mark.parametrize(("text", "stage"), [(POWER_OF_SUM, "simplify"), (PATHS, "derive"), (MANY_TERMS, "render")],
                         ids=["power-of-sum", "many-paths", "many-terms"])
def test_command_timeout_is_exit_4_naming_the_stage(text, stage):
    start = time.monotonic()
    result = runner.invoke(app, [text, "-w", "x", "--timeout", "1", "-f", "text"])
    assert time.monotonic() - start < 3.0
    assert result.exit_code == 4
    assert result.stderr == f"error: timed out after 1 s while in stage '{stage}'\n"
    assert result.stdout == ""


def test_the_many_terms_are_valid_and_derive_quickly():
    """So the render stage, not the derivation, is what the limit stopped above."""
    derivation = derive(MANY_TERMS, wrt="x", timeout=20)
    assert derivation.rule == "total-derivative"
    assert sum(step.kind == "differentiate" for step in derivation.steps) == 601


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
