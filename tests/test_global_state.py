"""A library call leaves the caller's process as it found it, and works whatever state the caller chose.

`with sympy.evaluate(False): derive("sin(x**2)")` hung or raised TypeError,
and the parser raised and restored the process-wide recursion limit without
a lock, so concurrent parses could leave it at 51 000 for good.
"""

from __future__ import annotations

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
    texts = ["+".join(["x"] * 20_000), "+".join(f"a{i}" for i in range(6_000)), "sin(x)", "*".join(["y"] * 900)]
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def work(index: int) -> None:
        start.wait()
        for round_ in range(3):
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
