"""A derivation with --check still validates against JSON schema 1, with the check recorded."""

import json

from typer.testing import CliRunner

from matcalc_sym.cli import app
from matcalc_sym.render.schema import errors


def test_check_json_validates_against_the_schema():
    result = CliRunner().invoke(app, ["log(sin(x**3)**2)", "--check", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert errors(data) == []
    assert data["check"]["passed"] is True and data["check"]["points"] > 0
    assert data["check"]["steps_verified"] == data["check"]["steps_total"] == 4


def test_schema_rejects_a_malformed_check():
    result = CliRunner().invoke(app, ["sin(x)", "--check", "-f", "json"])
    data = json.loads(result.stdout)
    data["check"]["passed"] = "yes"
    assert errors(data) == ["$.check.passed: expected boolean, got str"]
