"""Load test of `derive serve`: `python benchmarks/web_load.py` (about 20 s; not part of the benchmark table).

Starts the server as a user would (`python -m matcalc_sym serve`, default
pool of 2 bounded workers), sends 50 requests at once, mixed from the DESIGN
examples (tests/examples.py), and checks that every answer is right: status
200 and the same result (SymPy's srepr, every gradient) as `derive()` gives
in this process. Prints the latency percentiles (from sending to the whole
answer) and exits 1 if any answer was missing or wrong. `tests/test_web.py`
runs `run_load` against a live server too, so CI covers it.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _examples() -> list[tuple[str, str | None, dict]]:
    sys.path.insert(0, str(ROOT))
    from tests.examples import ALL

    return [(e.text, e.wrt, dict(e.shapes)) for e in ALL]


def _expected(examples) -> dict[int, tuple[str, dict]]:
    """The right answer of each example, from the library in this process."""
    from matcalc_sym import derive

    out = {}
    for index, (text, wrt, shapes) in enumerate(examples):
        document = derive(text, wrt, shapes=shapes).to_dict()
        out[index] = (document["result"]["srepr"], {k: v["srepr"] for k, v in document["gradients"].items()})
    return out


def _post(base: str, body: dict, timeout: float = 120) -> tuple[int, dict, float]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(base + "/api/derive", data=data, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, payload = reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, json.loads(exc.read() or b"{}")
    return status, payload, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), q in 0..100."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def run_load(base: str, requests: int = 50, concurrency: int = 50) -> dict:
    """Send `requests` mixed DESIGN examples, `concurrency` at a time; the latencies and what went wrong."""
    examples = _examples()
    expected = _expected(examples)
    jobs = [i % len(examples) for i in range(requests)]

    def one(index: int) -> tuple[int, str | None, float]:
        text, wrt, shapes = examples[index]
        status, payload, seconds = _post(base, {"text": text, "wrt": wrt, "shapes": shapes})
        if status != 200:
            return index, f"status {status}: {payload.get('error')}", seconds
        got = (payload["result"]["srepr"], {k: v["srepr"] for k, v in payload["gradients"].items()})
        return index, None if got == expected[index] else "a different result", seconds

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(pool.map(one, jobs))
    wall = time.perf_counter() - start
    latencies = [seconds for _, _, seconds in outcomes]
    return {"requests": requests, "concurrency": concurrency, "examples": len(examples),
            "wrong": [(examples[i][0], why) for i, why, _ in outcomes if why is not None],
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "max": max(latencies),
            "wall": wall, "throughput": requests / wall}


def start_server(workers: int = 2) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "matcalc_sym", "serve", "--port", str(port),
                                "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=1):
                return process, base
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the server did not start") from None
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    process, base = start_server(options.workers)
    try:
        report = run_load(base, options.requests, options.requests)
    finally:
        process.terminate()
        process.wait(10)
    print(f"{report['requests']} concurrent requests of {report['examples']} DESIGN examples, "
          f"{options.workers} workers: {report['requests'] - len(report['wrong'])}/{report['requests']} right; "
          f"latency p50 {report['p50']:.2f} s, p95 {report['p95']:.2f} s, max {report['max']:.2f} s; "
          f"{report['throughput']:.1f} requests/s ({report['wall']:.1f} s in all)")
    for text, why in report["wrong"]:
        print(f"  WRONG {text}: {why}")
    return 1 if report["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
