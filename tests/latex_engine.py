"""Compile LaTeX with a real engine (pdflatex); tests skip, saying why, only when none is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ENGINE = shutil.which("pdflatex")
needs_engine = pytest.mark.skipif(ENGINE is None, reason="no LaTeX engine installed (pdflatex not on PATH); "
                                  "install Debian's texlive-latex-base as .ci/run does")


def compile_latex(source: str, directory: Path, name: str = "doc") -> str:
    """Run pdflatex on `source`; return its log, failing the test with the first error if it fails."""
    tex = directory / f"{name}.tex"
    tex.write_text(source, encoding="utf-8")
    run = subprocess.run([ENGINE, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
                         cwd=directory, capture_output=True, text=True, timeout=120)
    log = (directory / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    if run.returncode != 0 or not (directory / f"{name}.pdf").is_file():
        errors = [line for line in log.splitlines() if line.startswith(("!", "l."))]
        pytest.fail(f"pdflatex failed on {name}.tex: {' | '.join(errors[:6])}")
    return log
