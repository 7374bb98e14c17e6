"""The bounded worker never outlives its purpose: real processes, real signals.

Each test starts the command (or a small script calling the library) as a
real process whose arguments carry a unique token; the forked worker has
the same command line, so "no process left behind" means no live process
whose command line holds the token. The expression is valid but slow: the
power of a long sum spends far longer than any test in `simplify`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                                   reason="finds processes through /proc")]

SLOW = "(" + "+".join(f"x**{i}" for i in range(1, 13)) + ")**40"
ROOT = Path(__file__).resolve().parent.parent


def _token() -> str:
    return f"tok{uuid.uuid4().hex[:12]}"


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (an orphan's zombie may wait for a slow init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _with_token(token: str) -> list[int]:
    """Live processes whose command line holds `token`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


def _wait_for(condition, seconds: float = 20.0, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


def _command(token: str, *options: str) -> list[str]:
    return [sys.executable, "-m", "matcalc_sym", f"{SLOW}  # {token}", "-w", "x", "-f", "text", *options]


def _env() -> dict:
    return {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}


def _start(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                            cwd=ROOT, start_new_session=True, **kwargs)


def _worker_of(process: subprocess.Popen) -> int:
    worker = _wait_for(lambda: _children(process.pid))
    assert worker, "the bounded worker never started"
    return worker[0]


def _assert_nothing_left(token: str) -> None:
    gone = _wait_for(lambda: not _with_token(token), seconds=10)
    left = _with_token(token)
    for pid in left:  # the test's own processes: do not let a failure leave them running
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert gone, f"processes left behind: {left}"


@pytest.mark.parametrize(("signum", "status", "message"), [
    (signal.SIGTERM, 143, "error: terminated\n"),
    (signal.SIGINT, 130, "error: interrupted\n"),
], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_command_alone_ends_the_worker_too(signum, status, message):
    token = _token()
    process = _start(_command(token, "--timeout", "120"))
    try:
        worker = _worker_of(process)
        time.sleep(0.5)  # well inside simplify
        os.kill(process.pid, signum)  # the command only, not its process group
        out, err = process.communicate(timeout=20)
        assert process.returncode == status
        assert err == message
        assert out == ""
        assert _wait_for(lambda: not _alive(worker), seconds=10)
        _assert_nothing_left(token)
    finally:
        process.kill()
        process.wait()


def test_sigkill_of_the_command_ends_the_worker():
    """Nothing runs in the command after SIGKILL: the worker must notice on its own (PR_SET_PDEATHSIG)."""
    token = _token()
    process = _start(_command(token, "--timeout", "120"))
    worker = _worker_of(process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert _wait_for(lambda: not _alive(worker), seconds=10)
    _assert_nothing_left(token)


def test_a_callers_subprocess_timeout_leaves_no_process_behind():
    token = _token()
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(_command(token, "--timeout", "120"), capture_output=True, env=_env(), cwd=ROOT, timeout=3)
    assert time.monotonic() - start < 10
    _assert_nothing_left(token)


_LIBRARY = textwrap.dedent('''
    import os, signal, sys, threading, time
    from matcalc_sym import derive, sandbox

    if sys.argv[2] == "lifeline-only":
        sandbox._LINUX = False  # as on a system without PR_SET_PDEATHSIG
    if sys.argv[2] == "handler":
        def handler(signum, frame):  # a caller's handler that raises, which the worker must never run
            raise RuntimeError("terminated")
        signal.signal(signal.SIGTERM, handler)
    parent = os.getpid()
    print("start", parent, flush=True)
    for attempt in range(2):
        try:
            derive(sys.argv[1], "x", timeout=float(sys.argv[3]))
        except BaseException as exc:
            print("caught", type(exc).__name__, os.getpid(), flush=True)
        if sys.argv[2] == "once":
            break
    print("after", os.getpid(), flush=True)
''')


def _library(token: str, mode: str, timeout: float = 120) -> subprocess.Popen:
    script = f"# {token}\n" + _LIBRARY
    return _start([sys.executable, "-c", script, f"{SLOW}  # {token}", mode, str(timeout)])


@pytest.mark.parametrize(("signum", "mode", "caught"), [
    (signal.SIGINT, "twice", "KeyboardInterrupt"),
    (signal.SIGTERM, "handler", "RuntimeError"),
], ids=["ctrl-c", "sigterm-handler"])
def test_an_interrupt_in_the_library_never_runs_the_callers_code_in_the_worker(signum, mode, caught):
    """Ctrl-C reaches the whole process group, the worker included; only the caller may go on."""
    token = _token()
    process = _library(token, mode)
    try:
        for _ in range(2):  # one interrupt per derive() call
            worker = _worker_of(process)
            time.sleep(0.5)
            os.killpg(process.pid, signum)
            assert _wait_for(lambda w=worker: not _alive(w), seconds=10)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    lines = out.split()
    pid = str(process.pid)
    assert out.splitlines() == [f"start {pid}", f"caught {caught} {pid}", f"caught {caught} {pid}", f"after {pid}"], \
        (out, err)
    assert lines.count("after") == 1
    _assert_nothing_left(token)


@pytest.mark.parametrize("mode", ["once", "lifeline-only"])
def test_the_worker_dies_with_a_killed_library_caller(mode):
    token = _token()
    process = _library(token, mode)
    worker = _worker_of(process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert _wait_for(lambda: not _alive(worker), seconds=10)
    _assert_nothing_left(token)


def test_the_worker_keeps_its_own_deadline_when_the_parent_cannot():
    """A stopped parent cannot kill anything: the worker ends itself about a second after the time limit."""
    token = _token()
    process = _library(token, "once", timeout=1.0)
    try:
        worker = _worker_of(process)
        os.kill(process.pid, signal.SIGSTOP)
        started = time.monotonic()
        assert _wait_for(lambda: not _alive(worker), seconds=15)
        assert time.monotonic() - started < 6
        os.kill(process.pid, signal.SIGCONT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    pid = str(process.pid)
    assert out.splitlines() == [f"start {pid}", f"caught LimitExceeded {pid}", f"after {pid}"], (out, err)
    _assert_nothing_left(token)


def _ignore_sigchld() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # inherited across exec, as from such a launcher


def test_a_launcher_that_ignores_sigchld():
    env = _env()
    done = subprocess.run([sys.executable, "-m", "matcalc_sym", "sin(x**2)", "-f", "text"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60, preexec_fn=_ignore_sigchld)
    assert done.returncode == 0, done.stderr
    assert "2⋅x⋅cos" in done.stdout
    token = _token()
    start = time.monotonic()
    timed = subprocess.run(_command(token, "--timeout", "1"), capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=60, preexec_fn=_ignore_sigchld)
    assert timed.returncode == 4, timed.stderr
    assert timed.stderr == "error: timed out after 1 s while in stage 'simplify'\n"
    assert time.monotonic() - start < 10
    _assert_nothing_left(token)
