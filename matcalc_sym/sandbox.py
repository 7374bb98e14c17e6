"""Bounded execution: a forked child with a deadline and a memory ceiling.

SIGALRM only interrupts SymPy in the main thread and bounds no memory, so a
derivation with a time limit runs in a child process; the parent waits, kills
it at the deadline, and reports which stage (parse, derive, simplify, render)
was running.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import LimitExceeded, MatcalcError

T = TypeVar("T")
DEFAULT_MEMORY_MB = 4096
#: a week; select() cannot wait longer than the platform's time_t, and no derivation needs more
MAX_TIMEOUT = 7 * 24 * 3600.0
_stage_fd: int | None = None


def report_stage(stage: str) -> None:
    """Tell a waiting parent which stage is running (a no-op outside a child)."""
    if _stage_fd is not None:
        with contextlib.suppress(OSError):
            os.write(_stage_fd, (stage + "\n").encode())


def run_limited(task: Callable[[], T], timeout: float, memory_mb: int | None = DEFAULT_MEMORY_MB) -> T:
    """Run `task` in a forked child; its result (or exception) comes back pickled."""
    global _stage_fd
    check_timeout(timeout)
    result_r, result_w = os.pipe()
    stage_r, stage_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(result_r)
        os.close(stage_r)
        _stage_fd = stage_w
        _limit_memory(memory_mb)
        try:
            payload = ("ok", task())
        except MatcalcError as exc:
            payload = ("error", exc)
        except MemoryError:
            payload = ("error", LimitExceeded("ran out of memory", stage="derive"))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, never shown raw
            payload = ("error", MatcalcError(f"internal error: {type(exc).__name__}: {exc}"))
        try:
            data = pickle.dumps(payload)
        except Exception as exc:  # noqa: BLE001
            data = pickle.dumps(("error", MatcalcError(f"internal error: result not transferable: {exc}")))
        _write_all(result_w, data)
        os._exit(0)
    os.close(result_w)
    os.close(stage_w)
    try:
        return _wait(pid, result_r, stage_r, timeout)
    finally:
        os.close(result_r)
        os.close(stage_r)


def check_timeout(timeout: float) -> None:
    """Refuse a time limit that is not a positive number of seconds (NaN, inf, 0, negative)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
        raise MatcalcError(f"timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}, "
                           f"not {timeout!r}")


def _wait(pid: int, result_r: int, stage_r: int, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    stages: list[bytes] = []
    open_fds = {result_r, stage_r}
    while result_r in open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            stages.append(_drain(stage_r))
            stage = (b"".join(stages).decode().split() or ["derive"])[-1]
            raise LimitExceeded(f"timed out after {timeout:g} s while in stage '{stage}'", stage=stage)
        ready, _, _ = select.select(list(open_fds), [], [], remaining)
        for fd in ready:
            data = os.read(fd, 1 << 16)
            if not data:
                open_fds.discard(fd)
            elif fd == result_r:
                chunks.append(data)
            else:
                stages.append(data)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        stage = (b"".join(stages).decode().split() or ["derive"])[-1]
        raise LimitExceeded(f"the computation died in stage '{stage}' (out of memory?)", stage=stage)
    kind, value = _unpickle(b"".join(chunks))
    if kind == "error":
        raise value
    return value


def _unpickle(data: bytes) -> Any:
    """The child's result, rebuilt exactly as it was built.

    Unpickling a SymPy expression calls its constructor on the stored
    arguments, and by default that evaluates: for a large derivative,
    SymPy's assumption queries on every subterm took 9 s (1600 nodes) and
    minutes (3200) after a derivation of 0.3 s, outside the child's time
    limit. The arguments are already in final form, so nothing is evaluated.
    """
    from sympy.core.parameters import evaluate

    with evaluate(False):
        return pickle.loads(data)


def _drain(fd: int) -> bytes:
    out = b""
    while select.select([fd], [], [], 0)[0]:
        data = os.read(fd, 1 << 16)
        if not data:
            break
        out += data
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.close(fd)


def _limit_memory(memory_mb: int | None) -> None:
    if not memory_mb:
        return
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
