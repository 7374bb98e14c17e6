"""Derivations for the server, each in the project's bounded worker, a few at a time.

Every request runs in `sandbox.run_limited` (a forked child with a deadline,
a memory ceiling and every lifetime guarantee of the command's worker), and
renders there too, so a heavy request costs one child and never the server.
At most `workers` children run at once (a semaphore), and at most `queue`
requests wait for one; beyond that the server answers 503 at once instead of
piling up work. The parent imports what the children need before it serves,
so a fork starts warm.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..errors import LimitExceeded, MatcalcError, ShapeError
from .request import DeriveRequest, RequestError

DEFAULT_WORKERS = 2
DEFAULT_QUEUE = 64
DEFAULT_TIMEOUT = 20.0
#: the worker's 512 MB stack is reserved address space, counted against this ceiling
DEFAULT_MEMORY_MB = 2048


class Busy(Exception):
    """More requests are waiting than the queue holds."""


#: one small question of each kind, derived once in the server process before it serves
_WARM_UP = (("sin(x**2) + x*y", "x,y", {}), ("max(0, dot(w, x) + b)", "w", {"w": "n", "x": "n"}),
            ("sum(tanh(W@X + b)**2)", "W", {"W": "m,n", "X": "n,k", "b": "m,1"}))


def warm_up() -> None:
    """Load, in the server process, everything a derivation and its renderers load lazily.

    Each request's worker is forked from this process, so what is imported
    here (SymPy's simplifier pulls in sympy.physics.units, the checkers and
    the NumPy exporter their own modules) costs nothing per request: the
    scalar examples took 0.4 to 0.9 s each over HTTP before, 0.1 s after.
    """
    from ..api import derive
    from .document import page_document

    for text, wrt, shapes in _WARM_UP:
        page_document(derive(text, wrt, shapes=shapes, check=True))


def field_of(exc: BaseException, request: DeriveRequest) -> str:
    """Which input an error belongs under: the expression, wrt, shapes, the answer or the second derivative."""
    if isinstance(exc, RequestError):
        return exc.field
    message = str(exc)
    if request.second and message.startswith(("--hessian", "--hvp", "hessian", "hvp", "layout=", "answer=",
                                              "second derivative")):
        return "second"  # what goes, or does not go, with a second derivative
    text = getattr(exc, "text", None)
    if text is not None:
        if text == request.text:
            return "text"
        if request.answer is not None and text == request.answer:
            return "answer"
    if message.startswith("answer"):
        return "answer"
    if isinstance(exc, ShapeError) and text is None:  # a declared shape itself, not shapes meeting in the text
        return "shapes"
    if message.startswith("wrt") or "wrt" in message or (request.wrt and any(f"'{n.strip()}'" in message for n in request.wrt.split(","))):
        return "wrt"
    return "text"


def error_payload(exc: MatcalcError, request: DeriveRequest | None) -> dict[str, Any]:
    """The one-line error (as the command prints it), the field it belongs to, and the caret, if any."""
    caret = exc.caret() if hasattr(exc, "caret") else ""
    return {"error": " ".join(str(exc).split()),
            "field": field_of(exc, request) if request is not None else getattr(exc, "field", "text"),
            "column": getattr(exc, "column", None), "caret": caret or None,
            "exit_status": exc.exit_code}


def _task(request: DeriveRequest) -> tuple[int, str]:
    """In the child: derive, render every format, and serialise; errors become their 400 payload."""
    from ..api import derive
    from .document import page_document

    try:
        derivation = derive(request.text, request.wrt, **request.kwargs())
        return 200, json.dumps(page_document(derivation), ensure_ascii=False)
    except MatcalcError as exc:
        status = 500 if exc.exit_code == 70 else 400
        return status, json.dumps(error_payload(exc, request), ensure_ascii=False)
    except RecursionError:
        return 400, json.dumps({"error": "the expression nests too deeply", "field": "text", "column": None,
                                "caret": None, "exit_status": 2})


class DerivePool:
    """At most `workers` bounded children at once, at most `queue` requests waiting."""

    def __init__(self, workers: int = DEFAULT_WORKERS, queue: int = DEFAULT_QUEUE,
                 timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
        self.workers, self.queue, self.timeout, self.memory_mb = workers, queue, timeout, memory_mb
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0

    def _run(self, request: DeriveRequest) -> tuple[int, str]:
        from ..sandbox import run_limited

        try:
            return run_limited(lambda: _task(request), self.timeout, self.memory_mb)
        except MatcalcError as exc:  # out of time or memory: the request's fault, and the server carries on
            status = 500 if exc.exit_code == 70 else 400
            return status, json.dumps(error_payload(exc, request), ensure_ascii=False)

    async def derive(self, request: DeriveRequest) -> tuple[int, str]:
        """(HTTP status, JSON body) for one request; raises `Busy` when the queue is full."""
        from starlette.concurrency import run_in_threadpool

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        if self._waiting >= self.queue + self.workers:
            raise Busy()
        self._waiting += 1
        try:
            async with self._slots:
                return await run_in_threadpool(self._run, request)
        finally:
            self._waiting -= 1


__all__ = ["Busy", "DerivePool", "LimitExceeded", "error_payload", "warm_up"]
