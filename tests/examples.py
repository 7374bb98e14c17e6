"""The DESIGN.md worked examples as data, so every renderer test covers all of them.

One line per case: a new example is one more `Example(...)`. `key` names the
golden file (tests/golden/<key>.txt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class Example:
    key: str
    text: str
    wrt: str | None = None
    shapes: dict = field(default_factory=dict)


VECTORS = {"w": "n", "x": "n"}
LOSS = {"X": "N,n", "y": "N", "w": "n"}
RNN = {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}
NET = {"X": "n,3", "Wh": "5,3", "bh": "5", "Wout": "3,5", "bout": "3", "Y": "n,3"}

SCALAR = [
    Example("ex01_sin_square", "sin(x**2)"),
    Example("ex02_log_sin_cube", "log(sin(x**3)**2)"),
    Example("ex03_x_plus_square", "x + x**2"),
    Example("ex04_sin_sum", "sin(x + x**2)"),
    Example("ex05_x_times_square", "x * x**2"),
    Example("ex06_nine_times", "9*(x + x**2)"),
    Example("ex07_gradient", "3*x**2*y", "x,y"),
    Example("ex08_jacobian", "[3*x**2*y, 2*x + y**8]", "x,y"),
]

ARRAYS = [
    Example("ex09_w_plus_x", "w + x", "w", VECTORS),
    Example("ex09_w_times_x", "w*x", "w", VECTORS),
    Example("ex09_w_over_x", "w/x", "x", VECTORS),
    Example("ex10_x_plus_z", "x + z", "z", {"x": "n"}),
    Example("ex11_sum_x_z", "sum(x*z)", "x", {"x": "n"}),
    Example("ex12_dot", "dot(w, x)", "w", VECTORS),
    Example("ex13_neuron", "max(0, dot(w, x) + b)", "w", VECTORS),
    Example("ex14_vector_of_functions", "[log(x**2), sin(3*x)]", "x"),
    Example("ex15_loss", "mean((y - max(0, X@w + b))**2)", "w", LOSS),
    Example("ex16_rnn_cell", "c = tanh(Wc@cp + Wx@x + b)", "Wx", RNN),
    Example("ex17_two_layer_net",
            "Zh = X@Wh.T + bh; Ah = tanh(Zh); Zo = Ah@Wout.T + bout; Ao = tanh(Zo); L = sum((Ao - Y)**2)/(3*n)",
            "Wout, bout, Wh, bh", NET),
]

ALL = SCALAR + ARRAYS


@cache
def derived(key: str):
    """The derivation of one example, computed once per test session."""
    from matcalc_sym import derive

    example = next(e for e in ALL if e.key == key)
    return derive(example.text, example.wrt, shapes=example.shapes)
