"""The wheel carries the rules tables; README and CI agree on the test command."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_the_rules_tables(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("matcalc_sym-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("matcalc_sym/rules/") and n.endswith(".toml")}
    assert shipped == {p.name for p in (ROOT / "rules").glob("*.toml")}
    assert "matcalc_sym/cli.py" in names


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- test-command -->\s*```(?:sh|bash)\n(.*?)```", readme, re.S).group(1).strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert block in ci
