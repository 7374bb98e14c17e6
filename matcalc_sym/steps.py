"""Steps and derivations: values, not print calls.

A `Step` is one line of a derivation (introduce, differentiate, combine,
substitute, simplify); a `Derivation` is the whole answer. Renderers are
visitors over these values, so the same derivation prints in a terminal,
exports to LaTeX, Markdown and JSON, and evaluates numerically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy.core.symbol import Str

STEP_KINDS = ("introduce", "differentiate", "combine", "substitute", "simplify", "gradient")


class Partial(sympy.Expr):
    """The symbol ∂num/∂den (or d num/d den) as it appears in a chain rule.

    Non-commutative on purpose: products of these keep the order of the chain
    (dy/du · du/dx), which is also the right algebra for Jacobians. The names
    are `Str` atoms, so substituting a variable never rewrites the symbol.
    """

    is_commutative = False

    def __new__(cls, numerator, denominator, partial=True):
        numerator = numerator if isinstance(numerator, Str) else Str(str(numerator))
        denominator = denominator if isinstance(denominator, Str) else Str(str(denominator))
        return sympy.Expr.__new__(cls, numerator, denominator, sympy.true if partial else sympy.false)

    @property
    def numerator(self) -> str:
        return self.args[0].name

    @property
    def denominator(self) -> str:
        return self.args[1].name

    @property
    def is_partial(self) -> bool:
        return bool(self.args[2])

    def _names(self, printer) -> tuple[str, str]:
        def name(text: str) -> str:
            return str(printer._print(sympy.Symbol(text.strip())))

        return name(self.numerator), ", ".join(name(d) for d in self.denominator.split(","))

    def _sympystr(self, printer) -> str:
        d = "∂" if self.is_partial else "d"
        den = self.denominator if "," not in self.denominator else f"({self.denominator})"
        return f"{d}{self.numerator}/{d}{den}"

    def _latex(self, printer, exp=None) -> str:
        d = r"\partial " if self.is_partial else "d "
        num, den = self._names(printer)
        if "," in self.denominator:
            den = rf"\left({den}\right)"
        body = rf"\frac{{{d}{num}}}{{{d}{den}}}"
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        d = "∂" if self.is_partial else "d"
        num, den = self._names(printer)
        if "," in self.denominator:
            den = f"({den})"
        return prettyForm(d + num) / prettyForm(d + den)

    def _eval_subs(self, old, new):
        return self


@dataclass(frozen=True)
class Step:
    """One line of a derivation.

    `lhs = rhs` is what the line states; `formula`, when present, is the chain
    rule written in ∂-symbols before the local derivatives are put in.
    """

    kind: str
    lhs: sympy.Basic
    rhs: sympy.Basic
    rule: str
    explanation: str = ""
    formula: sympy.Basic | None = None
    wrt: str | None = None
    shapes: Mapping[str, str] = field(default_factory=dict)
    #: a "gradient" step (a second derivative's stage 1, shown collapsed) holds the gradient's own steps
    inner: tuple[Step, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in STEP_KINDS:
            raise ValueError(f"unknown step kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        from .render.json import step_to_dict

        return step_to_dict(self)


@dataclass(frozen=True)
class Derivation:
    """A derivative with every step that led to it.

    `result` is the derivative (a SymPy expression, or an ImmutableMatrix in
    `layout` when it is not scalar-by-scalar); `rule` names the chain rule.
    """

    source: str
    expression: sympy.Basic
    output: str
    wrt: tuple[str, ...]
    steps: list[Step]
    result: sympy.Basic
    rule: str
    layout: str
    shapes: Mapping[str, str] = field(default_factory=dict)
    symbols: Mapping[str, sympy.Basic] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: the element-wise check (expand=N), when requested: see matcalc_sym.expand
    expansion: Any = None
    #: reverse mode: each variable's gradient, shaped like the variable (in `layout`)
    gradients: Mapping[str, sympy.Basic] = field(default_factory=dict)
    #: named intermediate results kept in the result, in terms of the inputs (for evaluate)
    definitions: Mapping[str, sympy.Basic] = field(default_factory=dict)
    #: the intermediate-variable DAG by name (matcalc_sym.dataflow), for --graph and --order
    dataflow: Any = None
    #: the self-check (check=True), when requested: a `check.CheckReport`
    check: Any = None
    #: the comparison with a derivative the user expected (answer=...): an `answer.AnswerReport`
    answer: Any = None
    #: every declared shape as NumPy spells it (("n",) a 1-D vector, ("n", "1") a column), for the
    #: independent reference evaluator (matcalc_sym.reference)
    declared_shapes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: a rules file's functions (name → definition in u, v, w) and aliases, for the same evaluator
    user_functions: Mapping[str, str] = field(default_factory=dict)
    user_aliases: Mapping[str, str] = field(default_factory=dict)
    #: the output's NumPy shape (("n",) for a 1-D vector), which an upstream gradient ∂J/∂y shares
    output_shape: tuple[str, ...] = ()
    #: a second derivative (hessian=True, hvp=True): a `hessian.SecondOrder`, else None
    second: Any = None

    @property
    def kinds(self) -> list[str]:
        return [step.kind for step in self.steps]

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The numeric value of `result` at `values` (a float, or a 2-D ndarray).

        With several variables in reverse mode, a dict of each gradient. Named
        intermediate results (c in c = tanh(...)) are computed from the inputs;
        an upstream gradient is passed by its name, e.g. values["dJ/dc"].
        """
        from .numeric import evaluate
        from .render.deep import rendered
        from .treeshape import derivation_arrays, dimensions_of, refuse_dense

        refuse_dense(derivation_arrays(self), dimensions_of(self.symbols, values), "evaluate()",
                     "every array is built densely")
        return rendered(self, lambda: evaluate(self, values))  # a tall tree is walked in a worker

    # Every renderer goes through `render.deep.rendered`: a derivation too deep for the caller's
    # stack (the derivative of a long product) is rendered in a worker that has a deep one.

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (see the README for the schema)."""
        from .render.deep import rendered
        from .render.json import derivation_to_dict

        return rendered(self, lambda: derivation_to_dict(self))

    def to_numpy(self) -> str:
        """A self-contained NumPy module: f_and_grad(**inputs) and check_gradient()."""
        from .render.deep import rendered
        from .render.numpy import to_numpy

        return rendered(self, lambda: to_numpy(self))

    def expanded(self) -> dict[str, sympy.Basic]:
        """The gradients with every named adjoint ∂J/∂u written out (backprop of a deep network keeps them
        as names, defined in `definitions`: written out, an L-layer network's answers grow as L²)."""
        from .adjoint import AdjointMatrix, AdjointScalar

        written: dict = {}
        for name, definition in self.definitions.items():  # in order: each refers only to earlier ones
            symbol = self.symbols.get(name)
            if isinstance(symbol, (AdjointMatrix, AdjointScalar)):
                written[symbol] = definition.xreplace(written)
        gradients = self.gradients or {self.wrt[0]: self.result}
        return {name: gradient.xreplace(written) for name, gradient in gradients.items()}

    def to_text(self, width: int = 100) -> str:
        """The derivation as plain text (what the CLI prints when piped)."""
        from .render.deep import rendered
        from .render.terminal import render_text

        return rendered(self, lambda: render_text(self, width=width))

    def to_latex(self, standalone: bool = False) -> str:
        """`align*` blocks per step kind; `standalone` makes a complete document."""
        from .render.deep import rendered
        from .render.latex import to_latex

        return rendered(self, lambda: to_latex(self, standalone=standalone))

    def to_markdown(self) -> str:
        """Headings per step kind and `$$` math (GitHub, Jupyter)."""
        from .render.deep import rendered
        from .render.markdown import to_markdown

        return rendered(self, lambda: to_markdown(self))

    def to_html(self) -> str:
        """One standalone HTML page (KaTeX and its fonts inlined) that opens offline."""
        from .render.deep import rendered
        from .render.html import to_html

        return rendered(self, lambda: to_html(self))

    def _repr_latex_(self) -> str:
        from .render.deep import rendered
        from .render.notebook import repr_latex

        return rendered(self, lambda: repr_latex(self))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        from .render.deep import rendered
        from .render.notebook import repr_html

        return rendered(self, lambda: repr_html(self))

    def __rich_console__(self, console, options):
        from .render.deep import IN_PROCESS_HEIGHT
        from .render.terminal import drawn
        from .sandbox import in_worker
        from .treeshape import tallest

        if not in_worker() and tallest(self) > IN_PROCESS_HEIGHT:  # laid out in a worker, as plain text
            from rich.text import Text

            yield Text(self.to_text(width=options.max_width))
            return
        yield from drawn(self, options)

    def __str__(self) -> str:
        return self.to_text()
