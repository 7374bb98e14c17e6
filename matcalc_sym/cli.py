"""The `derive` command: typer for options, rich only when printing pretty.

Every failure ends as one `error:` line (plus the input with a caret when a
column is known) and an exit status, never a traceback: 2 bad input, 3 a
requested check failed, 4 out of time or memory, 70 an internal error (a bug
to report), 74 the output could not be written, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .errors import CheckFailed, InternalError, Interrupted, MatcalcError, OutputError

#: exit statuses besides those of the error classes (errors.py)
EXIT_INTERNAL = InternalError.exit_code
EXIT_INTERRUPTED = Interrupted.exit_code
EXIT_TERMINATED = 143

DEFAULT_TIMEOUT = 30.0


class Format(str, Enum):
    pretty = "pretty"
    text = "text"
    json = "json"
    numpy = "numpy"
    latex = "latex"
    markdown = "markdown"
    dot = "dot"
    html = "html"


class Layout(str, Enum):
    auto = "auto"
    numerator = "numerator"
    denominator = "denominator"


class Mode(str, Enum):
    auto = "auto"
    forward = "forward"
    reverse = "reverse"


_EXTENSIONS = {".json": Format.json, ".txt": Format.text, ".tex": Format.latex, ".md": Format.markdown,
               ".dot": Format.dot, ".py": Format.numpy, ".html": Format.html}


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that `finally` blocks (the worker's kill and reap) run.

    A BaseException, like KeyboardInterrupt, so no `except Exception` swallows it.
    """


def _version(value: bool) -> None:
    if value:
        from . import __version__

        sys.stdout.write(f"derive (matcalc-sym) {__version__}\n")
        raise typer.Exit(0)

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
                                                "extension: .tex .md .json .dot .txt .py .html, unless --format is given).")] = None,
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
    answer: Annotated[str | None, typer.Option("--answer", metavar="EXPR", help="Compare the derivative you "
                                               "expect (input language, e.g. \"A@x + A.T@x\") with the derived one "
                                               "and say what is wrong; exit status 3 if it is not equal.")] = None,
    hessian: Annotated[bool, typer.Option("--hessian", help="The second derivative: the gradient's derivation "
                                          "(collapsed), then the steps that differentiate it again.")] = False,
    hvp: Annotated[bool, typer.Option("--hvp", help="The Hessian-vector product along a direction V shaped like the "
                                      "(vector or matrix) variable, never forming the Hessian.")] = False,
    rules: Annotated[list[Path] | None, typer.Option("--rules", metavar="FILE", help="Extra rules file "
                                                     "(repeatable); every rule in it is verified first.")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    from .api import derive
    from .deferred_imports import defer_imports
    from .sandbox import report_stage, run_limited

    try:
        shapes = _shape_options(shape or [])
        chosen = output_format or (_format_of(output) if output else None)
        if chosen is None:
            chosen = Format.pretty if output is None and sys.stdout.isatty() else Format.text
        console = _console_options(chosen, output)
        views_to_stderr = output is None and chosen not in (Format.pretty, Format.text)
        views_console = _console_options(Format.pretty, None, stderr=views_to_stderr) if graph or order else None

        def task() -> tuple[str, str, str | None]:  # the bounded child: derive, then render, each stage named
            defer_imports()
            derivation = derive(expression, ",".join(wrt) if wrt else None, shapes=shapes, layout=layout.value,
                                mode=mode.value, simplify=not no_simplify, expand=expand, check=check,
                                rules=rules or (), answer=answer, hessian=hessian, hvp=hvp)
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
    except KeyboardInterrupt:
        raise typer.Exit(_fail(Interrupted("interrupted"))) from None
    except Terminated:
        sys.stderr.write("error: terminated\n")
        raise typer.Exit(EXIT_TERMINATED) from None
    except RecursionError:
        raise typer.Exit(_fail(InternalError("internal error: an expression nested too deeply for Python; "
                                             "please report it"))) from None


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
    if derivation.answer is not None and not derivation.answer.correct:
        found.append(derivation.answer.line())
    return "; ".join(found) or None


def _shape_option(text: str) -> tuple[str, str]:
    name, sep, dims = text.partition("=")
    if not sep or not name.strip() or not dims.strip():
        raise MatcalcError(f"--shape {text!r}: write NAME=DIMS, e.g. w=n or W=m,n")
    return name.strip(), dims


def _shape_options(items: list[str]) -> dict[str, str]:
    """Every --shape NAME=DIMS; a name declared twice is a mistake, not a silent override."""
    shapes: dict[str, str] = {}
    for item in items:
        name, dims = _shape_option(item)
        if name in shapes:
            raise MatcalcError(f"--shape {name!r} is given twice ({shapes[name]} and {dims}); declare each name once")
        shapes[name] = dims
    return shapes


def _format_of(output: Path) -> Format:
    """The format an output file's extension names; an extension we do not write is refused, not guessed."""
    chosen = _EXTENSIONS.get(output.suffix.lower())
    if chosen is None:
        known = " ".join(sorted(_EXTENSIONS))
        what = f"extension {output.suffix!r}" if output.suffix else "no extension"
        raise MatcalcError(f"cannot tell the format of {str(output)!r} ({what}): use one of {known}, "
                           "or say which with --format")
    return chosen


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
        _write_stdout(text)
    else:
        write_atomically(output, text)


def _write_stdout(text: str) -> None:
    """Standard output, flushed here so that a full device is one error line, not a traceback at exit."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()  # the reader left (`derive ... | head`): nothing to say, and nothing more to write
        raise typer.Exit(141) from None
    except OSError as exc:
        _silence_stdout()
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so Python's own flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def write_atomically(path: Path, text: str) -> None:
    """Write `path` through a temporary file in its folder and a rename: a failed write leaves the old file.

    A full disk or `ulimit -f` used to leave a truncated file in place of the
    previous one. The temporary gets the old file's permissions (or the
    umask's, for a new file) and is removed if anything fails.
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666
    temporary = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; the previous file, if any, is unchanged") from None


def _latex(derivation, standalone: bool) -> str:
    return derivation.to_latex(standalone=standalone)


def _markdown(derivation, standalone: bool) -> str:
    return derivation.to_markdown()


def _dot(derivation, standalone: bool) -> str:
    from .render.graph import to_dot

    return to_dot(derivation)


def _numpy(derivation, standalone: bool) -> str:
    return derivation.to_numpy()


def _html(derivation, standalone: bool) -> str:
    return derivation.to_html()


_RENDERERS = {Format.latex: _latex, Format.markdown: _markdown, Format.dot: _dot, Format.numpy: _numpy,
              Format.html: _html}


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
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"]:  # `derive serve`: the web page (an expression that is just `serve` is no question)
        code = _serve(args[1:])
        if __name__ != "__main__":
            sys.exit(code)
        return code
    args = expression_last(args)
    previous = _on_sigterm_raise()
    try:
        code = _run(args)
    finally:
        _restore_sigterm(previous)
    if __name__ != "__main__":
        sys.exit(code)
    return code


def _serve(args: list[str]) -> int:
    """`derive serve [--host 127.0.0.1] [--port 8000] [--workers 2] [--timeout 20]`: the local web page."""
    import argparse

    parser = argparse.ArgumentParser(prog="derive serve", description="Serve the web page and its JSON API "
                                     "(POST /api/derive) on this machine.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=2, help="derivations run at once, each in a bounded "
                        "worker process (default 2)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per derivation (default 20)")
    try:
        options = parser.parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    if not 1 <= options.workers <= 64 or not 0 < options.timeout <= 600 or not 0 <= options.port <= 65535:
        sys.stderr.write("error: --workers is 1 to 64, --timeout 0 to 600 seconds, --port 0 to 65535\n")
        return 2
    from .web.app import serve

    try:
        serve(options.host, options.port, options.workers, options.timeout)
    except KeyboardInterrupt:
        return 0
    return 0


def script() -> None:
    """The installed `derive` command (and `python -m matcalc_sym`): `main`, then a fast exit.

    A process holding SymPy spends about a tenth of a second tearing its
    modules down at exit, a quarter of a short run. Everything this process
    writes goes through sys.stdout/sys.stderr (flushed here) or
    `write_atomically` (closed and renamed before it returns), the worker is
    reaped by `run_limited`, and no atexit handler is ours, so ending with
    `os._exit` loses nothing. Only the command does this: `main` and the
    library return normally, and tests (CliRunner, `main([...])`) never reach it.
    """
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            sys.stderr.write(f"{exc.code}\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or vanished reader: nothing more can be said
            code = code or 1
    os._exit(code)


def _run(args: list[str]) -> int:
    try:
        returned = app(args=args, standalone_mode=False)
        return returned if isinstance(returned, int) else 0
    except typer.Exit as exc:
        return getattr(exc, "exit_code", 0)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("error: interrupted\n")
        return EXIT_INTERRUPTED
    except Terminated:
        sys.stderr.write("error: terminated\n")
        return EXIT_TERMINATED
    except Exception as exc:  # noqa: BLE001 - the user sees one line, never a traceback
        if hasattr(exc, "format_message"):  # typer's (vendored) click usage errors
            sys.stderr.write(f"error: {' '.join(exc.format_message().split())}\n")
            return 2
        sys.stderr.write(f"error: internal error ({type(exc).__name__}: {' '.join(str(exc).split())}); "
                         "please report it\n")
        return EXIT_INTERNAL


def _on_sigterm_raise():
    """SIGTERM raises `Terminated` (only the main thread may set handlers), so cleanup runs; the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def terminated(signum, frame):
        raise Terminated()

    return signal.signal(signal.SIGTERM, terminated)


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _value_options() -> tuple[set[str], set[str]]:
    """Options that take a value (their next argument is never the expression), and the short option letters."""
    command = typer.main.get_command(app)
    takes_value = {opt for param in command.params if not getattr(param, "is_flag", False)
                   and param.param_type_name == "option" for opt in param.opts}
    short_letters = {opt[1] for param in command.params if param.param_type_name == "option"
                     for opt in param.opts if len(opt) == 2 and opt[0] == "-"}
    return takes_value, short_letters


#: characters an expression holds and an option value (w=n, x,y, json, a file name) does not
_EXPRESSION_CHARACTERS = frozenset("*/+()^@[]<>;") | frozenset(" \t\n")


def expression_last(args: list[str]) -> list[str]:
    """Let the expression start with a minus: `derive "-x**2"` and `derive "-sum(y*log(p))"`.

    An argument that begins with `-` but cannot be an option (it holds an
    operator or a bracket, or its letter is no short option) is the
    expression; it moves behind `--`, where no option parser looks.
    `-sw=n` stays the option -s with the value w=n.
    """
    if "--" in args or not any(a.startswith("-") and not a.startswith("--") for a in args):
        return args  # nothing to move: no need to build the option table (a few ms of start-up)
    takes_value, short_letters = _value_options()
    for index, arg in enumerate(args):
        if index and args[index - 1] in takes_value:
            continue
        if _looks_like_expression(arg, short_letters):
            return [*args[:index], *args[index + 1 :], "--", arg]
    return args


def _looks_like_expression(arg: str, short_letters: set[str]) -> bool:
    if not arg.startswith("-") or arg.startswith("--") or len(arg) < 2:
        return False
    if arg[1] not in short_letters:  # -x**2, -1, -(a + b): no option starts like that
        return True
    return any(c in _EXPRESSION_CHARACTERS for c in arg[2:])  # -sum(y*log(p)), but not -sw=n
