"""The `derive` command: typer for options, rich only when printing pretty.

Every failure the user can cause ends as one `error:` line (plus the input
with a caret when a column is known) and an exit status: 2 bad input, 3 a
requested check failed, 4 out of time or memory. Never a traceback.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .errors import CheckFailed, MatcalcError

DEFAULT_TIMEOUT = 30.0


class Format(str, Enum):
    pretty = "pretty"
    text = "text"
    json = "json"
    numpy = "numpy"
    latex = "latex"
    markdown = "markdown"
    dot = "dot"


class Layout(str, Enum):
    auto = "auto"
    numerator = "numerator"
    denominator = "denominator"


class Mode(str, Enum):
    auto = "auto"
    forward = "forward"
    reverse = "reverse"


_EXTENSIONS = {".json": Format.json, ".txt": Format.text, ".tex": Format.latex, ".md": Format.markdown,
               ".dot": Format.dot, ".py": Format.numpy}

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command(help="Derive EXPR step by step: introduce intermediate variables, differentiate each, "
                  "combine them with the chain rule, substitute back and simplify.\n\n"
                  "Examples:  derive \"sin(x**2)\"    derive \"3*x**2*y\" --wrt x,y    "
                  "derive \"z = x**2; y = sin(z)\"")
def derive_command(
    expression: Annotated[str, typer.Argument(metavar="EXPR", help="Expression in NumPy-flavoured Python syntax; "
                                              "';' or new lines separate named statements (z = x**2; y = sin(z)).")],
    wrt: Annotated[list[str] | None, typer.Option("--wrt", "-w", metavar="NAMES", help="Variable(s) to differentiate by: "
                                                  "x, or x,y for a gradient/Jacobian. Optional when there is one.")] = None,
    shape: Annotated[list[str] | None, typer.Option("--shape", "-s", metavar="NAME=DIMS",
                                                    help="Declare an array variable, e.g. w=n or W=m,n.")] = None,
    layout: Annotated[Layout, typer.Option(help="Numerator (the paper's) or denominator layout.")] = Layout.auto,
    mode: Annotated[Mode, typer.Option(help="Forward (Jacobians) or reverse (backprop) accumulation.")] = Mode.auto,
    output_format: Annotated[Format | None, typer.Option("--format", "-f", help="Output format "
                                                         "(default: pretty on a terminal, text when piped).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE (format from the "
                                                "extension: .tex .md .json .dot .txt, unless --format is given).")] = None,
    no_simplify: Annotated[bool, typer.Option("--no-simplify", help="Stop after substituting back.")] = False,
    expand: Annotated[int | None, typer.Option(metavar="N", help="Also write every array out with N "
                                               "entries per dimension and check the result against sympy.diff of the "
                                               "components, in its layout; exit status 3 if not equal.")] = None,
    timeout: Annotated[float, typer.Option(metavar="SECONDS", help="Give up after this many seconds (exit status 4).")] = DEFAULT_TIMEOUT,
    standalone: Annotated[bool, typer.Option("--standalone", help="LaTeX: a complete document "
                                             "(amsmath, amssymb, bm) that pdflatex compiles.")] = False,
    graph: Annotated[bool, typer.Option("--graph", help="Also draw the intermediate-variable DAG, "
                                        "the paths from the variable to the output marked.")] = False,
    order: Annotated[bool, typer.Option("--order", help="Also show the order in which forward and "
                                        "backward differentiation compute the partials.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Verify the result (sympy.diff, finite differences) and every "
                                        "local derivative; exit status 3 if wrong.")] = False,
    rules: Annotated[list[Path] | None, typer.Option("--rules", metavar="FILE", help="Extra rules file "
                                                     "(repeatable); every rule in it is verified first.")] = None,
) -> None:
    from .api import derive
    from .deferred_imports import defer_imports
    from .sandbox import report_stage, run_limited

    try:
        shapes = dict(_shape_option(item) for item in shape or [])
        chosen = output_format or (_EXTENSIONS.get(output.suffix.lower()) if output else None)
        if chosen is None:
            chosen = Format.pretty if output is None and sys.stdout.isatty() else Format.text
        console = _console_options(chosen, output)
        views_to_stderr = output is None and chosen not in (Format.pretty, Format.text)
        views_console = _console_options(Format.pretty, None, stderr=views_to_stderr) if graph or order else None

        def task() -> tuple[str, str, str | None]:  # the bounded child: derive, then render, each stage named
            defer_imports()
            derivation = derive(expression, ",".join(wrt) if wrt else None, shapes=shapes, layout=layout.value,
                                mode=mode.value, simplify=not no_simplify, expand=expand, check=check,
                                rules=rules or ())
            report_stage("render")
            views = _render_views(derivation, graph, order, views_console) if graph or order else ""
            return views, _render(derivation, chosen, console, standalone), _failures(derivation)

        views, text, failure = run_limited(task, timeout)
        if views:
            (sys.stderr if views_to_stderr else sys.stdout).write(views)
        _write(text, output)
        if failure is not None:
            raise CheckFailed(failure)
    except MatcalcError as exc:
        raise typer.Exit(_fail(exc)) from None
    except RecursionError:
        raise typer.Exit(_fail(MatcalcError("the expression is nested too deeply"))) from None


def _failures(derivation) -> str | None:
    """What the requested checks (--check, --expand) found wrong, as one sentence; None when nothing.

    Both are checks the user asked for, so either disagreeing is exit status 3
    (after the derivation is printed, NOT EQUAL panel included).
    """
    found = []
    if derivation.check is not None and not derivation.check.passed:
        found.append(f"check failed: {derivation.check.failure}")
    if derivation.expansion is not None and not derivation.expansion.equal:
        found.append(derivation.expansion.failure)
    return "; ".join(found) or None


def _shape_option(text: str) -> tuple[str, str]:
    name, sep, dims = text.partition("=")
    if not sep or not name.strip() or not dims.strip():
        raise MatcalcError(f"--shape {text!r}: write NAME=DIMS, e.g. w=n or W=m,n")
    return name.strip(), dims


def _console_options(chosen: Format, output: Path | None, stderr: bool = False) -> dict | None:
    """The parent's terminal settings, so the child can render pretty output to a string."""
    if chosen is not Format.pretty or output is not None:
        return None
    from rich.console import Console

    terminal = Console(stderr=stderr)
    return {"width": terminal.width, "color_system": terminal.color_system,
            "force_terminal": terminal.is_terminal, "no_color": terminal.no_color}


def _render_views(derivation, graph: bool, order: bool, console: dict | None) -> str:
    """--graph and --order as text, rendered in the child like the derivation itself."""
    import io

    from rich.console import Console

    from .render.views import print_views

    buffer = io.StringIO()
    options = console or {"width": 100, "color_system": None}
    print_views(derivation, graph=graph, order=order, console=Console(file=buffer, highlight=False, **options))
    return buffer.getvalue()


def _render(derivation, chosen: Format, console: dict | None, standalone: bool = False) -> str:
    if chosen in _RENDERERS:
        return _RENDERERS[chosen](derivation, standalone)
    if chosen is Format.json:
        import json

        return json.dumps(derivation.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if console is not None:
        import io

        from rich.console import Console

        buffer = io.StringIO()
        Console(file=buffer, **console).print(derivation)
        return buffer.getvalue()
    return derivation.to_text(width=100)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MatcalcError(f"cannot write {output}: {exc.strerror}") from None


def _latex(derivation, standalone: bool) -> str:
    return derivation.to_latex(standalone=standalone)


def _markdown(derivation, standalone: bool) -> str:
    return derivation.to_markdown()


def _dot(derivation, standalone: bool) -> str:
    from .render.graph import to_dot

    return to_dot(derivation)


def _numpy(derivation, standalone: bool) -> str:
    return derivation.to_numpy()


_RENDERERS = {Format.latex: _latex, Format.markdown: _markdown, Format.dot: _dot, Format.numpy: _numpy}


def _fail(exc: MatcalcError) -> int:
    message = " ".join(str(exc).split())
    sys.stderr.write(f"error: {message}\n")
    if hasattr(exc, "caret"):  # ParseError and ShapeError know where in the input they are
        caret = exc.caret()
        if caret:
            sys.stderr.write(caret + "\n")
    return exc.exit_code


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns (and exits with) the status."""
    try:
        returned = app(args=argv, standalone_mode=False)
        code = returned if isinstance(returned, int) else 0
    except typer.Exit as exc:
        code = getattr(exc, "exit_code", 0)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("error: interrupted\n")
        code = 130
    except Exception as exc:  # noqa: BLE001 - the user sees one line, never a traceback
        if hasattr(exc, "format_message"):  # typer's (vendored) click usage errors
            sys.stderr.write(f"error: {' '.join(exc.format_message().split())}\n")
            code = 2
        else:
            sys.stderr.write(f"error: internal error ({type(exc).__name__}: {exc}); please report it\n")
            code = 1
    if __name__ != "__main__":
        sys.exit(code)
    return code
