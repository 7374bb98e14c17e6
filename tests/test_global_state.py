"""A library call leaves the caller's process as it found it, and works whatever state the caller chose.

`with sympy.evaluate(False): derive("sin(x**2)")` hung or raised TypeError,
and the parser raised and restored the process-wide recursion limit without
a lock, so concurrent parses could leave it at 51 000 for good.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import warnings

import pytest
import sympy
from sympy.core.parameters import global_parameters

from matcalc_sym import derive
from matcalc_sym.parse import parse

x = sympy.Symbol("x", real=True)


def test_derive_inside_the_callers_unevaluated_block():
    reference = derive("sin(x**2)")
    expected = 2 * x * sympy.cos(x**2)
    log_sin = 6 * x**2 * sympy.cos(x**3) / sympy.sin(x**3)
    with sympy.evaluate(False):
        d = derive("sin(x**2)")
        assert global_parameters.evaluate is False  # the caller's setting, untouched
        assert d.result == expected
        assert d.to_latex() == reference.to_latex()
        assert d.to_text() == reference.to_text()
        assert d.evaluate({"x": 0.5}) == pytest.approx(reference.evaluate({"x": 0.5}))
        vector = derive("max(0, dot(w, x) + b)", wrt="w", shapes={"w": "n", "x": "n"}, check=True)
        assert vector.check.passed
        assert vector.evaluate({"w": [1, 2], "x": [3, 4], "b": 0.5}).tolist() == [[3.0, 4.0]]
        assert derive("log(sin(x**3)**2)", timeout=30).result == log_sin
    assert global_parameters.evaluate is True


def test_eight_threads_parsing_at_once_leave_the_recursion_limit_alone():
    before = sys.getrecursionlimit()
    filters = list(warnings.filters)
    texts = ["+".join(["x"] * 8_000), "+".join(f"a{i}" for i in range(3_000)), "sin(x)", "*".join(["y"] * 900)]
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def work(index: int) -> None:
        start.wait()
        for round_ in range(2):
            try:
                parse(texts[(index + round_) % len(texts)])
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sys.getrecursionlimit() == before
    assert warnings.filters == filters


def test_two_parses_inside_ast_parse_at_once_leave_the_recursion_limit_alone(monkeypatch):
    """The race, made certain: the parse that raised the limit first restores first, the other one last.

    Without a lock the second parse saved the raised limit as "previous" and
    restored that, leaving the process at 51 000. With the lock the second
    parse cannot start until the first has restored (the barrier times out).
    """
    import ast
    import time

    real_parse = ast.parse
    barrier = threading.Barrier(2, timeout=0.5)
    arrivals = iter([0.0, 0.3])
    arrival_lock = threading.Lock()

    def interleaved_parse(*args, **kwargs):
        with arrival_lock:
            delay = next(arrivals, 0.0)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        time.sleep(delay)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", interleaved_parse)
    before = sys.getrecursionlimit()
    threads = [threading.Thread(target=parse, args=("+".join(["x"] * 3000),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sys.getrecursionlimit() == before


def test_a_short_parse_does_not_touch_the_recursion_limit(monkeypatch):
    calls = []
    monkeypatch.setattr(sys, "setrecursionlimit", lambda n: calls.append(n))
    parse("sin(x**2) + " + " + ".join(["x"] * 200))
    assert calls == []


@pytest.mark.parametrize("timeout", [None, 30], ids=["in-process", "worker"])
def test_derive_leaves_no_process_wide_change(timeout):
    before = (sys.getrecursionlimit(), list(warnings.filters), signal.getsignal(signal.SIGINT),
              signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGCHLD),
              signal.pthread_sigmask(signal.SIG_BLOCK, []), global_parameters.evaluate,
              global_parameters.distribute, threading.active_count())
    d = derive("+".join(["x"] * 400) + " + sin(x)**2", "x", timeout=timeout)
    d.to_latex()
    d.to_dict()
    after = (sys.getrecursionlimit(), list(warnings.filters), signal.getsignal(signal.SIGINT),
             signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGCHLD),
             signal.pthread_sigmask(signal.SIG_BLOCK, []), global_parameters.evaluate,
             global_parameters.distribute, threading.active_count())
    assert after == before


def test_bounded_derivations_from_several_threads_at_once_leak_nothing():
    """Each worker closes the pipe ends of the others' parents; every pipe and pidfd is closed afterwards."""
    import os

    fds_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    threads_before = threading.active_count()
    results: list = []

    def work(power: int) -> None:
        results.append(derive(f"sin(x**{power})", timeout=30).result)

    threads = [threading.Thread(target=work, args=(power,)) for power in range(2, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == sorted((p * x ** (p - 1) * sympy.cos(x**p) for p in range(2, 8)), key=str)
    assert threading.active_count() == threads_before
    if fds_before is not None:
        assert len(os.listdir("/proc/self/fd")) == fds_before
