"""Rendering a derivation too deep for the caller's stack: in a worker that has one.

SymPy's printers recurse a few Python frames per level of the tree, so with
Python's default recursion limit they stop at roughly 180 levels (LaTeX) to
300 (srepr), less whatever the caller's own stack already holds. Sums are
flat (`treeshape.flatten`), but the derivative of a long product nests two
levels per factor, and the parser accepts products of up to 1000 factors. A
library call must not raise the process-wide recursion limit, so a
derivation taller than `IN_PROCESS_HEIGHT` is rendered in a forked worker
(`sandbox.run_limited`), whose large stack and high limit are its own. In
the command, rendering already happens in the worker. `Derivation.evaluate`
walks the tree too, and goes the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
#: trees up to this height print in the caller's process (measured limits: LaTeX about 180, 2-D pretty 200)
IN_PROCESS_HEIGHT = 120


def rendered(derivation, render: Callable[[], T]) -> T:
    """`render()` here, or in a worker with a deep stack when the derivation is too tall for this process."""
    from ..sandbox import MAX_TIMEOUT, in_worker, run_limited
    from ..treeshape import sympy_defaults, tallest

    def render_with_defaults() -> T:
        with sympy_defaults():  # a caller inside `with sympy.evaluate(False):` gets the same text
            return render()

    if in_worker() or tallest(derivation) <= IN_PROCESS_HEIGHT:
        return render_with_defaults()
    return run_limited(render_with_defaults, MAX_TIMEOUT)
