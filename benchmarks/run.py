"""Benchmarks side by side: `python benchmarks/run.py` prints a Markdown table.

Each figure is the median of several runs; each comparison is a ratio of two
figures measured in the same run, on the same machine, so the ratios travel
better than the seconds. Every timed case runs in a forked child with a time
limit (the library's own sandbox), so one slow case shows as "> limit" instead
of stalling the table. Not part of the test suite.

Every timed child is forked from a process that has derived, differentiated
and rendered something small already, so first-use loading is charged to the
cold-start row alone, and whose heap is frozen, so no child garbage-collects
the benchmark's objects.

The scalar rows take the median over several seeded random expressions per
size (one seed made the growth per doubling jump between 0.6x and 2.5x), and
time SymPy building its expression apart from `sympy.diff` differentiating it:
at 1600 nodes it is the building that runs out of time. The check rows
compare `--check` with the derivation it checks; the matrix rows compare
`derive` with SymPy's own matrix-expression `diff`, and say whether SymPy's
answer agrees. Peak memory is read in a fresh process from its own high-water
mark (VmHWM): `ru_maxrss`, in the child or through `wait4`, also counts the
pages of the process that started it, which here is this benchmark.

The renderer rows derive and then render in one child, for every output
format, as `derive -f FORMAT` does in its worker; the backprop rows go to 128
layers. The machine's load average is printed with the table: the figures
are wall-clock times, on cores that may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from matrixproblems import PROBLEMS, MatrixProblem, network_form, sympy_attempt, verdict  # noqa: E402
from randexpr import random_tree  # noqa: E402

from matcalc_sym.errors import LimitExceeded, MatcalcError  # noqa: E402
from matcalc_sym.sandbox import report_stage, run_limited  # noqa: E402

SIZES = (50, 100, 200, 400, 800, 1600, 3200)
LAYERS = (1, 2, 4, 8, 16, 32, 64, 128)
#: growth per doubling of layers is judged from here on (below, fixed costs dominate)
GROWTH_FROM = 8
BACKPROP_GROWTH_TARGET = 2.2
BACKPROP_SECONDS_TARGET = 5.0
COLD_START_TARGET = 1.25
CHECKED_LAYERS = 32
BIN = Path(sys.executable).parent


def timed_child(work, limit: float, prepare=None, prepare_limit: float = 0.0) -> float | None:
    """Seconds `work(prepare())` took in a forked child (SymPy's cache cleared first); None past `limit`.

    `prepare` builds the input, untimed, with `prepare_limit` seconds of its
    own on top of `limit`: building is timed apart (see `scalar_seed`), so
    its cost is never charged to `work`.
    """

    def task() -> float:
        from sympy.core.cache import clear_cache

        report_stage("prepare")
        argument = prepare() if prepare else None
        clear_cache()
        report_stage("work")
        start = time.perf_counter()
        work(argument) if prepare else work()
        return time.perf_counter() - start

    _freeze_heap()
    try:
        seconds = run_limited(task, limit + prepare_limit)
    except LimitExceeded:
        return None
    return seconds if seconds <= limit else None


def _freeze_heap() -> None:
    """Freeze this process's objects before forking, so a child's garbage collection never walks them:
    the benchmark's own heap grows as it runs, and would charge later cases for it."""
    gc.collect()
    gc.freeze()


def median_of(work, runs: int, limit: float, prepare=None, prepare_limit: float = 0.0) -> float | None:
    """Median of `runs` timings; stops at the first run over the limit."""
    times = []
    for _ in range(runs):
        seconds = timed_child(work, limit, prepare, prepare_limit)
        if seconds is None:
            return None
        times.append(seconds)
    return statistics.median(times)


def median_or_over(figures: list[float | None]) -> float | None:
    """The median of figures where None is "over the limit" (ranked above every time); None if the median is."""
    ranked = sorted(math.inf if f is None else f for f in figures)
    middle = statistics.median(ranked) if ranked else math.inf
    return None if math.isinf(middle) else middle


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
    return [f"| cold start `derive \"sin(x**2)\" --format text` (median of {runs} interleaved pairs) | {a:.3f} s | "
            f"`import sympy` {b:.3f} s | {a / b:.2f}×{spread} | ≤ {COLD_START_TARGET}× | "
            f"{'yes' if a / b <= COLD_START_TARGET else 'no'} |"]


def usable_trees(nodes: int, seed: int, count: int, limit: float) -> list[tuple[object, int]]:
    """The first `count` seeds from `seed` on whose expressions are defined (no identically-zero divisor)."""
    from matcalc_sym.api import derive

    found = []
    for attempt in range(seed, seed + 50 * count):
        tree = random_tree(nodes, attempt)
        try:
            derive(tree.text(), "x", timeout=limit, simplify=False)
        except LimitExceeded:
            pass  # defined or not, it is too slow: keep it, the table will say so
        except MatcalcError:
            continue
        found.append((tree, attempt))
        if len(found) == count:
            return found
    raise RuntimeError(f"no {count} usable expressions of {nodes} nodes")


def scalar_seed(tree, runs: int, limit: float) -> dict[str, float | None]:
    """One expression: `derive` from text; SymPy building it; `sympy.diff` of the built expression.

    The differentiation is timed only where the building finished within the
    limit; it then gets that building time again (and a second) to rebuild.
    """
    import sympy

    from matcalc_sym.api import derive

    text, x = tree.text(), sympy.Symbol("x")
    ours = median_of(lambda: derive(text, "x"), runs, limit)
    build = median_of(tree.sympy, runs, limit)
    if build is None:
        return {"ours": ours, "build": None, "diff": None, "diff measured": False}
    diff = median_of(lambda expr: sympy.diff(expr, x), runs, limit, prepare=tree.sympy,
                     prepare_limit=2 * build + 1.0)
    return {"ours": ours, "build": build, "diff": diff, "diff measured": True}


def scalar_scaling(runs: int, limit: float, seed: int, seeds: int) -> tuple[list[str], object]:
    """derive against sympy.diff on the same random expressions, median of `seeds` expressions per size."""
    lines, previous, largest = [], None, None
    for nodes in SIZES:
        trees = usable_trees(nodes, seed, seeds, limit)
        cases = [scalar_seed(tree, runs, limit) for tree, _ in trees]
        ours = median_or_over([c["ours"] for c in cases])
        _emit(lines, _scalar_row(nodes, [used for _, used in trees], cases, ours, previous, limit))
        previous = ours
        if ours is not None:
            largest = min(((tree, c) for (tree, _), c in zip(trees, cases) if c["ours"] is not None),
                          key=lambda pair: abs(pair[1]["ours"] - ours))[0].text()  # the median seed
    return lines, largest


def _scalar_row(nodes: int, used: list[int], cases: list[dict], ours, previous, limit: float) -> str:
    build = median_or_over([c["build"] for c in cases])
    measured = [c for c in cases if c["diff measured"]]
    diff = median_or_over([c["diff"] for c in measured]) if measured else None
    if not measured:
        baseline = f"building > {limit:g} s in every seed: `sympy.diff` not reached"
        ratio, within = "–", ours is not None
    else:
        unbuilt = len(cases) - len(measured)
        baseline = f"`sympy.diff` {_s(diff, limit)}" + (f" ({len(measured)} of {len(cases)} seeds)" if unbuilt else "")
        baseline += f"; building {_s(build, limit)}"
        if ours is not None and diff is None:  # sympy.diff ran out of time: an upper bound
            ratio, within = f"< {ours / limit:.2f}×", True
        else:
            ratio = f"{ours / diff:.2f}×" if ours and diff else "–"
            within = ours is not None and diff is not None and ours / diff <= 10
    growth = f"{ours / previous:.2f}×" if ours and previous else "–"
    ok = within and (previous is None or (ours is not None and ours / previous <= 2.5))
    seeds = f"seeds {used[0]}–{used[-1]}" if used == list(range(used[0], used[-1] + 1)) else \
        "seeds " + ", ".join(map(str, used))
    return (f"| scalar, {nodes} nodes (median of {len(cases)}: {seeds}) | {_s(ours, limit)} | {baseline} | "
            f"{ratio}, growth {growth} | ≤ 10×, growth ≤ 2.5× | {'yes' if ok else 'no'} |")


def network(layers: int) -> tuple[str, list[str], dict[str, str]]:
    """The loss of an L-layer tanh network, h_i = tanh(W_i h_{i-1}), J = Σ (h_L − t)²."""
    statements = ["h1 = tanh(W1@x)"] + [f"h{i} = tanh(W{i}@h{i - 1})" for i in range(2, layers + 1)]
    statements.append(f"J = sum((h{layers} - t)**2)")
    weights = [f"W{i}" for i in range(1, layers + 1)]
    shapes = {w: "n,n" for w in weights} | {"x": "n", "t": "n"}
    return "; ".join(statements), weights, shapes


def backprop_scaling(runs: int, limit: float) -> list[str]:
    """Every weight matrix of an L-layer network at once, in reverse mode, median of at least five runs.

    Growth per doubling is judged from GROWTH_FROM layers on; the deepest
    network must also finish within BACKPROP_SECONDS_TARGET.
    """
    from matcalc_sym.api import derive

    lines, previous = [], None
    for layers in LAYERS:
        text, weights, shapes = network(layers)
        ours = median_of(lambda t=text, w=weights, s=shapes: derive(t, w, shapes=s), max(runs, 5), limit)
        growth = ours / previous if ours and previous else None
        judged = layers > GROWTH_FROM
        targets, met = [], []
        if judged:
            targets.append(f"growth ≤ {BACKPROP_GROWTH_TARGET}×")
            met.append(growth is not None and growth <= BACKPROP_GROWTH_TARGET)
        if layers == LAYERS[-1]:
            targets.append(f"< {BACKPROP_SECONDS_TARGET:g} s")
            met.append(ours is not None and ours < BACKPROP_SECONDS_TARGET)
        shown = f"growth {growth:.2f}×" if growth else "–"
        _emit(lines, f"| backprop, {layers}-layer tanh network | {_s(ours, limit)} | | {shown} | "
                     f"{', '.join(targets)} | {('yes' if all(met) else 'no') if targets else ''} |")
        previous = ours
    return lines


#: what `--check` loads beyond the derivation: NumPy (which `derive` alone never imports), the checkers,
#: and the parts of SymPy that compile expressions to NumPy
CHECK_MODULES = ("numpy", "numpy.random", "numpy.linalg", "sympy.utilities.lambdify", "sympy.printing.numpy",
                 "sympy.codegen", "matcalc_sym.check", "matcalc_sym.numeric", "matcalc_sym.reference")
IMPORT_PROBE = """
import importlib, sys, time

import matcalc_sym.api

start = time.perf_counter()
for name in sys.argv[1:]:
    importlib.import_module(name)
print(time.perf_counter() - start)
"""


def check_imports(runs: int) -> str:
    """Loading what `--check` needs beyond the derivation (NumPy above all), in fresh processes."""
    seconds = []
    for _ in range(max(runs, 5)):
        done = subprocess.run([sys.executable, "-I", "-c", IMPORT_PROBE, *CHECK_MODULES], check=True, capture_output=True,
                              text=True)
        seconds.append(float(done.stdout))
    return (f"| `--check`: loading NumPy and the checkers, once per process | {statistics.median(seconds):.3f} s "
            f"| | | | |")


def design_examples():
    """tests/examples.py (the DESIGN examples), loaded from its file: `tests` is no installed package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("design_examples", ROOT / "tests" / "examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def warm_up(cases) -> None:
    """Derive and check every case once before the fork: what SymPy and NumPy load on first use
    (about 0.2 s for the first scalar simplification) is then charged to neither figure."""
    from matcalc_sym.api import derive
    from matcalc_sym.check import verify

    for example in cases:
        verify(derive(example.text, example.wrt, shapes=example.shapes))


def derive_then_check(example, limit: float) -> tuple[float, float] | None:
    """(derivation seconds, check seconds) in one forked child; None past the limit.

    The check is `verify` of the derivation just made, which is what
    `--check` adds to a run; its modules are imported before the fork, as the
    derivation's are.
    """

    def task() -> tuple[float, float]:
        from sympy.core.cache import clear_cache

        from matcalc_sym.api import derive
        from matcalc_sym.check import verify
        from matcalc_sym.numeric import clear_caches

        clear_cache()
        clear_caches()  # nothing compiled by an earlier case
        start = time.perf_counter()
        derivation = derive(example.text, example.wrt, shapes=example.shapes)
        middle = time.perf_counter()
        report = verify(derivation)
        if not report.passed:
            raise MatcalcError(f"the check failed: {report.line()}")
        return middle - start, time.perf_counter() - middle

    _freeze_heap()
    try:
        return run_limited(task, limit)
    except LimitExceeded:
        return None


def check_cost(runs: int, limit: float) -> list[str]:
    """`--check` against the derivation it checks, on every DESIGN example and a deep network.

    Both figures are work in a process that has its libraries loaded and
    used once (SymPy for the derivation; NumPy and the checkers for the
    check), with SymPy's cache and the evaluator's compiled functions
    cleared; the first row is what loading the check's libraries costs once
    per process.
    """
    import importlib

    lines = [_emit([], check_imports(runs))]
    for name in CHECK_MODULES:  # loaded before the fork, as the derivation's modules are
        importlib.import_module(name)

    examples = design_examples()
    text, weights, shapes = network(CHECKED_LAYERS)
    cases = [*examples.ALL, examples.Example(f"{CHECKED_LAYERS}-layer tanh network", text, ",".join(weights), shapes)]
    warm_up(cases)
    for example in cases:
        pairs = []
        for _ in range(max(runs, 5)):  # small derivations: a few hundredths of a second each
            pair = derive_then_check(example, limit)
            if pair is None:
                break
            pairs.append(pair)
        derivation = statistics.median(p[0] for p in pairs) if pairs else None
        checked = statistics.median(p[1] for p in pairs) if pairs else None
        ratio = checked / derivation if pairs else None
        _emit(lines, f"| `--check`, {example.key} | {_s(checked, limit)} | derivation {_s(derivation, limit)} | "
                     f"{f'{ratio:.2f}×' if ratio else '–'} | ≤ 3× | {'yes' if ratio and ratio <= 3 else 'no'} |")
    return lines


def matrix_problems(runs: int, limit: float) -> list[str]:
    """derive against SymPy's own matrix-expression `diff` on the same problems, and whether SymPy is right.

    SymPy's array-expression modules load on first use; each problem is tried
    once before the fork, so the children time differentiation on both sides.
    """
    from matcalc_sym.api import derive

    text, weights, shapes = network(CHECKED_LAYERS)
    problems = [*PROBLEMS, MatrixProblem(f"{CHECKED_LAYERS}-layer tanh network by W1", text, "W1", shapes,
                                         network_form(CHECKED_LAYERS))]
    for problem in PROBLEMS:
        _attempt(problem)
    lines = []
    for problem in problems:
        ours = median_of(lambda p=problem: derive(p.text, p.wrt, shapes=p.shapes), runs, limit)
        theirs = median_of(lambda p=problem: _attempt(p), runs, limit)
        said = _verdict(problem, limit)
        ratio = f"{ours / theirs:.2f}×" if ours and theirs and said == "agrees" else "–"
        _emit(lines, f"| matrix, {problem.label} | {_s(ours, limit)} | SymPy `MatrixSymbol` diff "
                     f"{_s(theirs, limit)}: {said} | {ratio} | | |")
    return lines


def _verdict(problem: MatrixProblem, limit: float) -> str:
    try:
        return run_limited(lambda: verdict(problem), limit)
    except LimitExceeded:
        return f"no answer to compare within {limit:g} s"


def _attempt(problem: MatrixProblem) -> None:
    """SymPy's attempt, timed whether it answers or raises (a failure is the verdict's business)."""
    with contextlib.suppress(Exception):  # SymPy's failure is timed like an answer
        sympy_attempt(problem)


def _renderers() -> dict:
    """Every output format, as the command produces it (JSON as the text the command writes)."""
    import io

    def pretty(derivation) -> None:
        from rich.console import Console

        Console(file=io.StringIO(), width=100, color_system=None).print(derivation)

    def dot(derivation) -> None:
        from matcalc_sym.render.graph import to_dot

        to_dot(derivation)

    return {"text": lambda d: d.to_text(), "pretty": pretty, "LaTeX": lambda d: d.to_latex(),
            "Markdown": lambda d: d.to_markdown(), "JSON": lambda d: json.dumps(d.to_dict(), indent=2,
                                                                                 ensure_ascii=False),
            "NumPy": lambda d: d.to_numpy(), "dot": dot}


def derive_then_render(example, render, limit: float) -> tuple[float, float] | None:
    """(seconds deriving, seconds rendering) in one forked child, as the command does both; None past the limit.

    SymPy's cache is cleared before the derivation (as for every timed
    case) and left as the derivation leaves it for the renderer, which is
    what `derive -f FORMAT` does in its worker. Each renderer gets a child of
    its own, so what one printed never makes another look cheap.
    """

    def task() -> tuple[float, float]:
        from sympy.core.cache import clear_cache

        from matcalc_sym.api import derive

        clear_cache()
        start = time.perf_counter()
        derivation = derive(example.text, example.wrt, shapes=example.shapes)
        middle = time.perf_counter()
        render(derivation)
        return middle - start, time.perf_counter() - middle

    _freeze_heap()
    try:
        return run_limited(task, 2 * limit)
    except LimitExceeded:
        return None


def renderer_cost(runs: int, limit: float, largest: str | None) -> list[str]:
    """Every renderer against the derivation on the DESIGN examples, the 32-layer network and the largest
    scalar case: one row per case, the worst renderer named (target: none above 1×)."""
    examples = design_examples()
    text, weights, shapes = network(CHECKED_LAYERS)
    cases = [*examples.ALL, examples.Example(f"{CHECKED_LAYERS}-layer tanh network", text, ",".join(weights), shapes)]
    if largest is not None:
        cases.append(examples.Example("largest scalar case", largest, "x", {}))
    renderers = _renderers()
    from matcalc_sym.api import derive

    for render in renderers.values():  # what each renderer loads on first use, loaded before the fork
        render(derive("sum(tanh(W@x))", "W", shapes={"W": "n,n", "x": "n"}))
    lines = []
    for example in cases:
        pairs = {name: [derive_then_render(example, render, limit) for _ in range(max(runs, 5))]
                 for name, render in renderers.items()}
        if any(pair is None for samples in pairs.values() for pair in samples):
            _emit(lines, f"| renderers, {example.key} | > {limit:g} s | | | ≤ 1× | no |")
            continue
        base = statistics.median(pair[0] for samples in pairs.values() for pair in samples)
        ratios = {name: statistics.median(pair[1] for pair in samples) / base for name, samples in pairs.items()}
        worst = max(ratios, key=ratios.get)
        listed = ", ".join(f"{name} {ratio:.2f}" for name, ratio in ratios.items())
        _emit(lines, f"| renderers, {example.key} | worst {worst} {ratios[worst] * base:.3f} s | derivation "
                     f"{base:.3f} s | {ratios[worst]:.2f}× ({listed}) | ≤ 1× | "
                     f"{'yes' if ratios[worst] <= 1 else 'no'} |")
    return lines


MEMORY_PROBE = """
import json, resource, sys


def high_water():
    try:
        with open("/proc/self/status") as status:  # this address space only, not the launcher's
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM"))
    except OSError:
        return None


from matcalc_sym.api import derive

imported = high_water()
derive(sys.argv[1], "x")
print(json.dumps({"imported": imported, "peak": high_water(),
                  "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak_memory(text: str | None) -> list[str]:
    """Peak resident memory of a fresh process deriving the largest case, measured by that process.

    `ru_maxrss` (in the child, or via `wait4`) includes the high-water mark of
    the process that forked it, carried across `exec`: it reported this
    benchmark's own size. VmHWM belongs to the new address space alone. `-I`
    keeps the working directory off the path: from a checkout, `-c` imported
    the source tree instead of the package measured.
    """
    if text is None:
        return []
    done = subprocess.run([sys.executable, "-I", "-c", MEMORY_PROBE, text], capture_output=True, text=True)
    if done.returncode != 0:
        return ["| peak memory, largest scalar case | not measured: the process failed | | | | |"]
    figures = json.loads(done.stdout)
    if figures["peak"] is None:  # no /proc: the inherited figure, said to be one
        return [f"| peak memory, largest scalar case (`ru_maxrss`, includes the launcher) | "
                f"{figures['maxrss']:.0f} MB | | | | |"]
    return [f"| peak memory, largest scalar case (whole process, VmHWM) | {figures['peak']:.0f} MB | "
            f"after imports {figures['imported']:.0f} MB | derivation +{figures['peak'] - figures['imported']:.0f} MB "
            f"| | |"]


def _emit(lines: list[str], line: str) -> str:
    """Print a row as soon as it is measured (the slow rows come last) and keep it."""
    print(line, flush=True)
    lines.append(line)
    return line


def _s(seconds: float | None, limit: float) -> str:
    return f"> {limit:g} s" if seconds is None else f"{seconds:.3f} s"


def _load() -> str:
    """The machine's load averages: the figures are wall-clock times on shared cores."""
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    return (f"{time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores ({model}), "
            f"Python {platform.python_version()}, {platform.system()}")


def warm_up_everything() -> None:
    """Derive, differentiate and render something small once before any fork: what SymPy, rich and
    the package load on first use (about 0.2 s for the first simplification) is the cold-start row's
    business, not every timed case's."""
    import io

    import sympy
    from rich.console import Console

    from matcalc_sym.api import derive

    small = derive("log(sin(x**3)**2) + x*y", "x,y")
    small.to_latex()
    Console(file=io.StringIO(), width=100, color_system=None).print(small)
    text, weights, shapes = network(2)
    derive(text, weights, shapes=shapes)
    sympy.diff(random_tree(50, 0).sympy(), sympy.Symbol("x"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--seeds", type=int, default=5, help="random expressions per size (the median is shown)")
    parser.add_argument("--limit", type=float, default=15.0, help="seconds before a case counts as too slow")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import matcalc_sym

    editable = Path(matcalc_sym.__file__).resolve().is_relative_to(Path(__file__).resolve().parents[1])
    install = "an editable install (its import hook adds about 0.03 s to the cold start)" if editable else "`pip install .`"
    started_load = _load()
    print(f"Measured {machine()}, shared with other work (load average {started_load} at the start); median of "
          f"{args.runs} runs (at least 5 for backprop, the checks and the renderers; {args.seeds} seeds per scalar "
          f"size), limit {args.limit:g} s per run; matcalc-sym from {install}.\n")
    print("| case | time | baseline | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for line in cold_start(max(args.runs, 15)):  # half a second each, and the noisiest row
        print(line, flush=True)
    warm_up_everything()
    check_cost(args.runs, args.limit)
    matrix_problems(args.runs, args.limit)
    backprop_scaling(args.runs, args.limit)
    _, largest = scalar_scaling(args.runs, args.limit, args.seed, args.seeds)
    renderer_cost(args.runs, args.limit, largest)
    for line in peak_memory(largest):
        print(line, flush=True)
    print(f"\nLoad average (1, 5, 15 min) at the start {started_load}, at the end {_load()}.")


if __name__ == "__main__":
    main()
