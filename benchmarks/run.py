"""Benchmarks side by side: `python benchmarks/run.py` prints a Markdown table.

Each figure is the median of several runs; each comparison is a ratio of two
figures measured in the same run, on the same machine, so the ratios travel
better than the seconds. Every timed case runs in a forked child with a time
limit (the library's own sandbox), so one slow case shows as "> limit" instead
of stalling the table. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from randexpr import random_tree  # noqa: E402

from matcalc_sym.errors import LimitExceeded, MatcalcError  # noqa: E402
from matcalc_sym.sandbox import run_limited  # noqa: E402

SIZES = (50, 100, 200, 400, 800, 1600, 3200)
LAYERS = (1, 2, 4, 8, 16, 32)
BIN = Path(sys.executable).parent


def timed_child(work, limit: float, prepare=None) -> float | None:
    """Seconds `work(prepare())` took in a forked child (SymPy's cache cleared first); None past `limit`.

    `prepare` (untimed, but inside the limit) builds the input: even building a
    large expression can take SymPy minutes.
    """

    def task() -> float:
        from sympy.core.cache import clear_cache

        argument = prepare() if prepare else None
        clear_cache()
        start = time.perf_counter()
        work(argument) if prepare else work()
        return time.perf_counter() - start

    try:
        return run_limited(task, limit)
    except LimitExceeded:
        return None


def median_of(work, runs: int, limit: float, prepare=None) -> float | None:
    """Median of `runs` timings; stops at the first run over the limit."""
    times = []
    for _ in range(runs):
        seconds = timed_child(work, limit, prepare)
        if seconds is None:
            return None
        times.append(seconds)
    return statistics.median(times)


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


# -- the rows --------------------------------------------------------------------


def cold_start(runs: int) -> list[str]:
    """`derive "sin(x**2)"` as a whole process against `python -c "import sympy"` (the floor)."""
    derive = [str(BIN / "derive"), "sin(x**2)", "--format", "text"]
    floor = [sys.executable, "-c", "import sympy"]
    wall(derive), wall(floor)  # warm the file cache
    ours, theirs = [], []
    for _ in range(runs):  # interleaved, so drift in the machine's load hits both
        ours.append(wall(derive))
        theirs.append(wall(floor))
    a, b = statistics.median(ours), statistics.median(theirs)
    pairs = sorted(x / y for x, y in zip(ours, theirs))
    spread = f" (pairs {pairs[len(pairs) // 10]:.2f}–{pairs[-1 - len(pairs) // 10]:.2f}×)"
    return [f"| cold start `derive \"sin(x**2)\"` | {a:.3f} s | `import sympy` {b:.3f} s | "
            f"{a / b:.2f}×{spread} | ≤ 1.5× | {'yes' if a / b <= 1.5 else 'no'} |"]


def usable_tree(nodes: int, seed: int, limit: float):
    """The first seed from `seed` on whose expression is defined (no identically-zero divisor)."""
    from matcalc_sym.api import derive

    for attempt in range(seed, seed + 50):
        tree = random_tree(nodes, attempt)
        try:
            derive(tree.text(), "x", timeout=limit, simplify=False)
            return tree, attempt
        except LimitExceeded:
            return tree, attempt  # defined or not, it is too slow: keep it, the table will say so
        except MatcalcError:
            continue
    raise RuntimeError(f"no usable expression of {nodes} nodes")


def scalar_scaling(runs: int, limit: float, seed: int) -> tuple[list[str], object]:
    """derive against sympy.diff on the same random expression, and the growth per doubling."""
    import sympy

    from matcalc_sym.api import derive

    lines, previous, largest = [], None, None
    for nodes in SIZES:
        tree, used = usable_tree(nodes, seed, limit)
        text, x = tree.text(), sympy.Symbol("x")
        ours = median_of(lambda text=text: derive(text, "x"), runs, limit)
        theirs = median_of(lambda expr, x=x: sympy.diff(expr, x), runs, limit, prepare=tree.sympy)
        if ours is not None and theirs is None:  # sympy.diff ran out of time: an upper bound
            ratio, within = f"< {ours / limit:.2f}×", True
        else:
            ratio = f"{ours / theirs:.2f}×" if ours and theirs else "–"
            within = ours is not None and theirs is not None and ours / theirs <= 10
        growth = f"{ours / previous:.2f}×" if ours and previous else "–"
        ok = within and (previous is None or (ours is not None and ours / previous <= 2.5))
        _emit(lines, f"| scalar, {nodes} nodes (seed {used}) | {_s(ours, limit)} | `sympy.diff` "
                     f"{_s(theirs, limit)} | {ratio}, growth {growth} | ≤ 10×, growth ≤ 2.5× | "
                     f"{'yes' if ok else 'no'} |")
        previous = ours
        if ours is not None:
            largest = text
    return lines, largest


def network(layers: int) -> tuple[str, list[str], dict[str, str]]:
    """The loss of an L-layer tanh network, h_i = tanh(W_i h_{i-1}), J = Σ (h_L − t)²."""
    statements = ["h1 = tanh(W1@x)"] + [f"h{i} = tanh(W{i}@h{i - 1})" for i in range(2, layers + 1)]
    statements.append(f"J = sum((h{layers} - t)**2)")
    weights = [f"W{i}" for i in range(1, layers + 1)]
    shapes = {w: "n,n" for w in weights} | {"x": "n", "t": "n"}
    return "; ".join(statements), weights, shapes


def backprop_scaling(runs: int, limit: float) -> list[str]:
    """Every weight matrix of an L-layer network at once, in reverse mode."""
    from matcalc_sym.api import derive

    lines, previous = [], None
    for layers in LAYERS:
        text, weights, shapes = network(layers)
        ours = median_of(lambda t=text, w=weights, s=shapes: derive(t, w, shapes=s), runs, limit)
        growth = f"growth {ours / previous:.2f}×" if ours and previous else "–"
        target = "< 2 s" if layers == LAYERS[-1] else ""
        ok = "yes" if ours is not None and ours < 2 else "no"
        _emit(lines, f"| backprop, {layers}-layer tanh network | {_s(ours, limit)} | | {growth} | "
                     f"{target} | {ok if target else ''} |")
        previous = ours
    return lines


def rendering(text: str | None, runs: int, limit: float) -> list[str]:
    """LaTeX of every step and the rich pretty output of the largest derivation, against deriving it."""
    if text is None:
        _emit([], "| rendering | not measured: no scalar case finished in time | | | | |")
        return []
    from matcalc_sym.api import derive

    derivation = derive(text, "x", timeout=None)

    def latex() -> None:
        derivation.to_latex()

    def pretty() -> None:
        import io

        from rich.console import Console

        Console(file=io.StringIO(), width=100, color_system=None).print(derivation)

    base = median_of(lambda: derive(text, "x"), runs, limit)
    lines = []
    for name, work in (("`to_latex()`", latex), ("pretty (rich) output", pretty)):
        took = median_of(work, runs, limit)
        ratio = f"{took / base:.2f}× the derivation" if took and base else "–"
        ok = took is not None and base is not None and took <= base
        _emit(lines, f"| rendering: {name}, largest case | {_s(took, limit)} | derivation "
                     f"{_s(base, limit)} | {ratio} | ≤ 1× | {'yes' if ok else 'no'} |")
    return lines


def peak_memory(text: str | None) -> list[str]:
    """Peak resident memory of a fresh process deriving the largest case (its own rusage)."""
    if text is None:
        return []
    code = "import sys; from matcalc_sym.api import derive; derive(sys.argv[1], 'x')"
    process = subprocess.Popen([sys.executable, "-c", code, text])
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = status
    if status != 0:
        return ["| peak memory, largest scalar case | not measured: the process failed | | | | |"]
    return [f"| peak memory, largest scalar case (whole process) | {usage.ru_maxrss / 1024:.0f} MB | | | | |"]


def _emit(lines: list[str], line: str) -> None:
    """Print a row as soon as it is measured (the slow rows come last) and keep it."""
    print(line, flush=True)
    lines.append(line)


def _s(seconds: float | None, limit: float) -> str:
    return f"> {limit:g} s" if seconds is None else f"{seconds:.3f} s"


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    return (f"{time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores ({model}), "
            f"Python {platform.python_version()}, {platform.system()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--limit", type=float, default=15.0, help="seconds before a case counts as too slow")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import matcalc_sym

    editable = Path(matcalc_sym.__file__).resolve().is_relative_to(Path(__file__).resolve().parents[1])
    install = "an editable install (its import hook adds about 0.03 s to the cold start)" if editable else "`pip install .`"
    print(f"Measured {machine()}; median of {args.runs} runs, limit {args.limit:g} s per run; "
          f"matcalc-sym from {install}.\n")
    print("| case | time | baseline | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for line in cold_start(max(args.runs, 15)):  # half a second each, and the noisiest row
        print(line, flush=True)
    _, largest = scalar_scaling(args.runs, args.limit, args.seed)
    backprop_scaling(args.runs, args.limit)
    rendering(largest, args.runs, args.limit)
    for line in peak_memory(largest):
        print(line, flush=True)


if __name__ == "__main__":
    main()
