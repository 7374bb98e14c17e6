"""Bounded execution: a forked child with a deadline and a memory ceiling.

SIGALRM only interrupts SymPy in the main thread and bounds no memory, so a
derivation with a time limit runs in a child process; the parent waits, kills
it at the deadline, and reports which stage (parse, derive, simplify, render)
was running.

The child must never outlive its purpose, whatever happens to the parent:

- it enforces its own deadline, a little after the parent's: a real-time
  timer whose SIGALRM keeps its default action (the kernel ends the process
  even inside a long C call), and RLIMIT_CPU as a second bound;
- it dies with its parent: PR_SET_PDEATHSIG on Linux, and everywhere a
  thread that waits on a pipe only the parent holds open (end of file means
  the parent is gone);
- it ends with `os._exit` on every path, and SIGINT/SIGTERM keep their
  default action in it, so an interrupt can never make it return into the
  caller's code (which would run the caller's program twice);
- the parent kills and reaps it in `finally`, with a pidfd where there is
  one (so a reused pid is never signalled), and copes with a launcher that
  ignores SIGCHLD (the kernel then reaps children itself and `waitpid`
  reports ECHILD).
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from .errors import InternalError, LimitExceeded, MatcalcError

T = TypeVar("T")
DEFAULT_MEMORY_MB = 4096
#: a week; select() cannot wait longer than the platform's time_t, and no derivation needs more
MAX_TIMEOUT = 7 * 24 * 3600.0
#: the child's own deadline comes this long after the parent's, so the parent normally names the stage
CHILD_GRACE = 1.0
#: signals whose handlers (the caller's, or Python's KeyboardInterrupt) must not run in the child
_RESET_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGALRM",
                                                          "SIGXCPU", "SIGUSR1", "SIGUSR2") if hasattr(signal, name))
_PR_SET_PDEATHSIG = 1
#: the worker runs its task in a thread with this stack and this recursion limit: deep derivatives
#: (a long product's derivative nests two levels per factor) need more than a caller's process allows
WORKER_STACK_BYTES = 512 * 1024 * 1024
WORKER_RECURSION_LIMIT = 30_000
_in_worker = False
#: PR_SET_PDEATHSIG exists on Linux only; elsewhere the lifeline pipe alone ends an orphaned child
_LINUX = sys.platform.startswith("linux")
_stage_fd: int | None = None
#: pipe ends held by parents of running children; a newly forked child closes them (see `_close_inherited`)
_parent_fds: set[int] = set()
_fork_lock = threading.Lock()


def in_worker() -> bool:
    """Whether this process is a bounded worker (where the stack is deep and global state is ours)."""
    return _in_worker


def report_stage(stage: str) -> None:
    """Tell a waiting parent which stage is running (a no-op outside a child); a child without a parent ends."""
    if _stage_fd is None:
        return
    try:
        os.write(_stage_fd, (stage + "\n").encode())
    except BrokenPipeError:
        os._exit(1)
    except OSError:
        pass


def run_limited(task: Callable[[], T], timeout: float, memory_mb: int | None = DEFAULT_MEMORY_MB) -> T:
    """Run `task` in a forked child; its result (or exception) comes back pickled.

    Raises `LimitExceeded` when the time runs out or the child dies; an
    interrupt in the parent (KeyboardInterrupt, or any exception a signal
    handler raises) propagates after the child has been killed and reaped.
    """
    check_timeout(timeout)
    with _fork_lock:  # no other thread forks between making these pipes and closing the child's ends here
        result_r, result_w = os.pipe()
        stage_r, stage_w = os.pipe()
        life_r, life_w = os.pipe()
        mask = _block_signals()
        try:
            pid = os.fork()
        except OSError as exc:
            _restore_signals(mask)
            for fd in (result_r, result_w, stage_r, stage_w, life_r, life_w):
                os.close(fd)
            raise LimitExceeded(f"cannot start the bounded worker: {exc.strerror}") from None
        if pid == 0:
            _parent_fds.update((result_r, stage_r, life_w))  # the parent's ends: closed in the child
            _child(task, timeout, memory_mb, mask, result_w, stage_w, life_r)
        worker = _Worker(pid)
        for fd in (result_w, stage_w, life_r):
            os.close(fd)
        _parent_fds.update((result_r, stage_r, life_w))
    try:
        _restore_signals(mask)  # a signal that arrived meanwhile is handled here, inside the try
        return _wait(worker, result_r, stage_r, timeout)
    finally:
        worker.stop()
        with _fork_lock:
            _parent_fds.difference_update((result_r, stage_r, life_w))
            for fd in (result_r, stage_r, life_w):
                os.close(fd)


def check_timeout(timeout: float) -> None:
    """Refuse a time limit that is not a positive number of seconds (NaN, inf, 0, negative)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
        raise MatcalcError(f"timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}, "
                           f"not {timeout!r}")


# -- the parent -----------------------------------------------------------------


class _Worker:
    """The child as the parent sees it: killed at most once, reaped exactly once.

    With a pidfd (Linux ≥ 5.3) the kill can never reach another process that
    inherited the pid. With SIGCHLD ignored the kernel reaps the child itself:
    `waitpid` then fails with ECHILD, which means "gone", not an error.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None
        self.reaped = False
        self.pidfd: int | None = None
        if hasattr(os, "pidfd_open"):
            try:
                self.pidfd = os.pidfd_open(pid)
            except ProcessLookupError:  # already exited and reaped by the kernel (SIGCHLD ignored)
                self.reaped = True
            except OSError:
                self.pidfd = None

    def kill(self) -> None:
        if self.reaped:
            return
        with contextlib.suppress(ProcessLookupError):
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)

    def reap(self) -> int | None:
        """Wait for the child to end; its wait status, or None when the kernel reaped it."""
        if not self.reaped:
            try:
                _, self.status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                self.status = None
            self.reaped = True
        return self.status

    def stop(self) -> None:
        """Kill and reap, even when a second interrupt arrives meanwhile (it is re-raised after)."""
        pending: BaseException | None = None
        for _ in range(3):
            try:
                self.kill()
                self.reap()
                break
            except BaseException as exc:  # noqa: BLE001 - re-raised once the child is gone
                pending = exc
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        if pending is not None:
            raise pending


def _wait(worker: _Worker, result_r: int, stage_r: int, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    stages: list[bytes] = []
    open_fds = {result_r, stage_r}
    while result_r in open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            worker.kill()
            worker.reap()
            stage = _last_stage(stages, stage_r)
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
    status = worker.reap()
    if not chunks:
        stage = _last_stage(stages, stage_r)
        if status is not None and os.WIFSIGNALED(status) and os.WTERMSIG(status) in _DEADLINE_SIGNALS:
            raise LimitExceeded(f"timed out after {timeout:g} s while in stage '{stage}'", stage=stage)
        raise LimitExceeded(f"the computation died in stage '{stage}' (out of memory?)", stage=stage)
    kind, value = _unpickle(b"".join(chunks))
    if kind == "error":
        raise value
    return value


_DEADLINE_SIGNALS = tuple(getattr(signal, name) for name in ("SIGALRM", "SIGXCPU") if hasattr(signal, name))


def _last_stage(stages: list[bytes], stage_r: int) -> str:
    stages.append(_drain(stage_r))
    return (b"".join(stages).decode(errors="replace").split() or ["derive"])[-1]


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


def _block_signals() -> set | None:
    """Block the interrupting signals around fork, so none is handled by Python in between."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _RESET_SIGNALS)


def _restore_signals(mask: set | None) -> None:
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


# -- the child ------------------------------------------------------------------


def _child(task: Callable[[], Any], timeout: float, memory_mb: int | None, mask: set | None,
           result_w: int, stage_w: int, life_r: int) -> NoReturn:
    """The forked child, from fork to `os._exit`: it never returns, whatever is raised or signalled."""
    global _stage_fd, _in_worker
    code = 70
    _in_worker = True
    try:
        parent = os.getppid()
        for number in _RESET_SIGNALS:
            signal.signal(number, signal.SIG_DFL)  # an interrupt ends the child; no handler of the caller runs
        _close_inherited()
        _restore_signals(mask)
        _die_with_parent(parent, life_r)
        _set_deadline(timeout)
        _limit_memory(memory_mb)
        _collect_less()
        _stage_fd = stage_w
        data = _on_a_deep_stack(task)
        _write_all(result_w, data)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent sees a child that died; nothing may escape the child
        pass
    finally:
        os._exit(code)


#: allocations between young-generation collections in the worker (Python's default is 700)
WORKER_GC_THRESHOLD = 10_000


def _collect_less() -> None:
    """The worker's garbage collector: the inherited heap frozen, young collections rarer.

    A derivation allocates millions of short-lived SymPy objects and frees
    almost none of them in cycles; with Python's defaults every full
    collection also walked the inherited heap (SymPy's modules and caches),
    and the collections grew with the derivation's own heap (one run, loaded
    machine: 128 layers of backprop 0.74 s with a threshold of 700, 0.50 s
    with 10 000). The settings are the worker's own: it exits when the task
    is done.
    """
    import gc

    gc.freeze()  # the caller's objects: never this process's garbage
    gc.set_threshold(WORKER_GC_THRESHOLD, 10, 10)


def _on_a_deep_stack(task: Callable[[], Any]) -> bytes:
    """The task's pickled outcome, computed (and pickled) on a large stack with a high recursion limit.

    Global state is the worker's own: it exits right after. The thread's stack
    is reserved address space, counted against the memory ceiling but only
    touched as deep as the work goes. Without such a thread (a platform that
    refuses the size, or too little memory), the task runs here, with
    Python's default limit.
    """
    box: list[bytes] = []

    def run() -> None:
        box.append(_dumps(_outcome(task)))

    default_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(WORKER_RECURSION_LIMIT)
    try:
        threading.stack_size(WORKER_STACK_BYTES)
        worker = threading.Thread(target=run, name="matcalc-work")
        worker.start()
    except (ValueError, RuntimeError, MemoryError):
        sys.setrecursionlimit(default_limit)
        run()
        return box[0]
    worker.join()
    if not box:
        raise InternalError("internal error: the worker thread ended without a result")
    return box[0]


def _outcome(task: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", task()
    except MatcalcError as exc:
        return "error", exc
    except MemoryError:
        return "error", LimitExceeded("ran out of memory", stage="derive")
    except Exception as exc:  # noqa: BLE001 - reported to the parent, never shown raw
        return "error", InternalError(f"internal error: {type(exc).__name__}: {exc}")


def _dumps(payload: tuple[str, Any]) -> bytes:
    try:
        return pickle.dumps(payload)
    except Exception as exc:  # noqa: BLE001
        return pickle.dumps(("error", InternalError(f"internal error: result not transferable: {exc}")))


def _close_inherited() -> None:
    """Close the pipe ends other runs' parents hold: a child keeping them open would hide their parent's death."""
    for fd in list(_parent_fds):
        with contextlib.suppress(OSError):
            os.close(fd)
    _parent_fds.clear()


def _die_with_parent(parent: int, life_r: int) -> None:
    """End this child when the parent ends: PR_SET_PDEATHSIG on Linux, and a thread reading the lifeline pipe."""
    if _LINUX:
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    threading.Thread(target=_watch_lifeline, args=(life_r,), daemon=True, name="matcalc-lifeline").start()


def _watch_lifeline(life_r: int) -> None:
    """Only the parent holds the write end: end of file means it is gone (or done with us)."""
    while True:
        try:
            data = os.read(life_r, 1)
        except InterruptedError:
            continue
        except OSError:
            data = b""
        if not data:
            os._exit(1)


def _set_deadline(timeout: float) -> None:
    """The child's own deadline: a wall-clock timer that kills even inside C code, and a CPU-time limit."""
    seconds = min(timeout, MAX_TIMEOUT) + CHILD_GRACE
    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        import resource

        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would otherwise dump core into the cwd
        cpu = math.ceil(seconds)
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard != resource.RLIM_INFINITY:
            cpu = min(cpu, hard - 1)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except ImportError:
        pass


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
