"""The terminal: one titled block per run of steps, the result boxed.

Equations are SymPy's Unicode pretty-printing (fractions stacked, u₁ with
subscripts), composed side by side so `lhs = chain rule = value` shares one
baseline. The blocks are described once (`blocks`); rich draws them on a
terminal (colour only there; NO_COLOR is honoured by rich itself), and
render/plain.py lays them out as the same characters for plain text, without
importing rich.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Mapping

import sympy
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict
from sympy.printing.str import StrPrinter

from .plain import Box, Laid, Para, cell_len, render_plain
from .printable import PrintsEachOnce, dispatched, fast_precedence, is_large, misread, negated, negative

TITLES = {
    "introduce": "Introduce intermediate variables",
    "differentiate": "Differentiate each intermediate variable",
    "combine": "Combine with the chain rule",
    "substitute": "Substitute back",
    "simplify": "Simplify",
    "gradient": "The gradient (stage 1, collapsed)",
}


class _Printer(PrettyPrinter):
    """SymPy's pretty printer with the paper's lower-case max and min.

    One printer serves a whole derivation (`blocks`), and remembers each
    distinct subexpression's form: the steps repeat their terms (a combine
    step's terms are the differentiate steps' results), and laying each out
    again was most of the time of printing a small derivation. A form is
    handed out as a shallow copy, since SymPy's layout code sets `baseline`
    and `binding` on the forms it gets.
    """

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self._forms: dict = {}

    def _print(self, expr, **kwargs):
        if kwargs or not isinstance(expr, sympy.Basic):
            return super()._print(expr, **kwargs)
        form = self._forms.get(expr)
        if form is None:
            form = self._forms[expr] = dispatched(self, expr)
        if isinstance(form, stringPict):  # a shallow copy, as copy.copy makes it, without its protocol
            handed = object.__new__(type(form))
            handed.__dict__.update(form.__dict__)
            return handed
        return form

    def _print_Symbol(self, e, bold_name=False):
        if misread(e.name):  # x__2 is not x², xdot not ẋ: the name as written
            return prettyForm(e.name)
        return super()._print_Symbol(e, bold_name)

    def _print_Max(self, expr):
        return self._print_Function(expr, func_name="max")

    def _print_Min(self, expr):
        return self._print_Function(expr, func_name="min")

    def _print_MatMul(self, expr):
        """(𝟙[z > 0] ⊙ g)·xᵀ: an element-wise product or sum inside a matrix product keeps its parentheses.

        SymPy's pretty printer parenthesizes only sums and its own Hadamard
        products there, so 𝟙[z > 0] ⊙ g·xᵀ (and a ⊙ b·W) read as if ⊙ bound
        last; the LaTeX and one-line printers already go by precedence.
        """
        from ..arrays import Elementwise

        def grouped(arg) -> bool:
            return isinstance(arg, Elementwise) and precedence(arg) <= PRECEDENCE["Mul"]

        if len(expr.args) < 2 or not any(grouped(a) for a in expr.args):
            return super()._print_MatMul(expr)
        forms = []
        for arg in expr.args:
            form = self._print(arg)
            if isinstance(arg, (sympy.Add, sympy.MatAdd)) or (grouped(arg) and form.binding != prettyForm.DIV):
                form = prettyForm(*form.parens())  # a fraction's bar groups it already
            forms.append(form)
        return prettyForm.__mul__(*forms)

    def _print_MatAdd(self, expr):
        """I − (1/n)·𝟙𝟙ᵀ: terms with a negative coefficient after a binary minus, positive terms first.

        SymPy's own form puts the term's sign in its coefficient (I -1/n·𝟙𝟙ᵀ),
        and a stacked fraction then hides the minus in its numerator, so the
        sum reads like a product.
        """
        terms = sorted(expr.args, key=negative)  # stable: the positive terms first, each group in order
        result = None
        for term in terms:
            minus = negative(term)
            form = self._print(negated(term) if minus else term)
            if result is None:
                result = prettyForm(*form.left("-")) if minus else form
            else:
                result = prettyForm(*stringPict.next(result, " - " if minus else " + ", form))
        return result

    def _print_Add(self, expr, order=None):
        """o − y, not −y + o: a sum that starts with a negative term starts with a positive one if it has one."""
        terms = list(expr.args)
        if len(terms) > 1 and terms[0].could_extract_minus_sign() and not all(
                t.could_extract_minus_sign() for t in terms):
            terms = sorted(terms, key=lambda t: t.could_extract_minus_sign())  # stable
            expr = sympy.Add(*terms, evaluate=False)
        return super()._print_Add(expr, order)

    def _inverse_transpose(self, matrix):
        from sympy.printing.pretty.stringpict import prettyForm

        return self._print(matrix) ** prettyForm("-T")

    def _print_Transpose(self, expr):
        if isinstance(expr.arg, sympy.Inverse):  # (A⁻¹)ᵀ is written A⁻ᵀ
            return self._inverse_transpose(expr.arg.arg)
        return super()._print_Transpose(expr)

    def _print_Inverse(self, expr):
        if isinstance(expr.arg, sympy.Transpose):  # (Aᵀ)⁻¹ is the same A⁻ᵀ
            return self._inverse_transpose(expr.arg.arg)
        return self._print_MatPow(expr)


class _LinearPrinter(PrintsEachOnce, StrPrinter):
    """One line in the input language, for expressions too large for a 2-D layout."""

    def __init__(self) -> None:
        super().__init__({"order": "none"})

    def _print_Max(self, expr):
        return f"max({self.stringify(expr.args, ', ')})"

    def _print_Min(self, expr):
        return f"min({self.stringify(expr.args, ', ')})"

    def _print_Mul(self, expr):
        """An unevaluated −1·a (how a difference is built) is −a, not −1*a."""
        if len(expr.args) == 2 and expr.args[0] is sympy.S.NegativeOne:
            return "-" + self.parenthesize(expr.args[1], precedence(expr))
        return super()._print_Mul(expr)

    def _print_Add(self, expr, order=None):
        """Positive terms first, as a teacher writes them (s - y, not -y + s)."""
        terms = sorted(self._as_ordered_terms(expr, order=order), key=lambda term: term.could_extract_minus_sign())
        level = precedence(expr)
        text = ""
        for term in terms:
            minus = term.could_extract_minus_sign()
            form = self.parenthesize(-term if minus else term, level)
            text += (" - " if minus else " + ") + form if text else ("-" if minus else "") + form
        return text

    def _print_MatAdd(self, expr):
        """Positive terms first, then each negative one after a binary minus (softmax(z) - y)."""
        terms = sorted(expr.args, key=negative)
        level = precedence(expr)
        text = ""
        for term in terms:
            minus = negative(term)
            form = self.parenthesize(negated(term) if minus else term, level)
            text += (" - " if minus else " + ") + form if text else ("-" if minus else "") + form
        return text

    def _print_MatMul(self, expr):
        """Matrix products with `@`, as the input is written (`*` stays element-wise or scalar)."""
        args = list(expr.args)
        sign = ""
        if args[0].is_Number and args[0] < 0:
            sign, args[0] = "-", -args[0]
            if args[0] == 1:
                args.pop(0)
        level = fast_precedence(expr)
        text = self.parenthesize(args[0], level)
        for before, arg in zip(args, args[1:]):
            joiner = " @ " if before.is_Matrix and arg.is_Matrix else "*"
            text += joiner + self.parenthesize(arg, level)
        return sign + text


def input_text(expr: sympy.Basic, dims: Mapping[str, int] | None = None) -> str:
    """`expr` in one line of the input language (`@` for matrix products, `*` element-wise).

    SymPy's own str writes a matrix product with `*`, which the input
    language reads as the element-wise product: a note or an error message
    that quotes an expression must not invite that misreading. `dims` gives
    each array's NumPy dimensions (1 or 2); without it an n×1 array is taken
    to be a 1-D vector, as most are. What the input language cannot spell is
    written in the terminal's one-line form instead.
    """
    from ..inputtext import NotWritable
    from ..inputtext import input_text as exact

    if dims is None:
        dims = {s.name: 1 if s.shape[1] == 1 else 2 for s in expr.atoms(sympy.MatrixSymbol)}
    try:
        return exact(expr, dims)
    except NotWritable:
        return _LinearPrinter().doprint(expr)


def _printer(width: int) -> PrettyPrinter:
    return _Printer({"use_unicode": True, "order": "none", "num_columns": width, "wrap_line": True})


def equation(step, width: int = 100, lhs_width: int = 0, printer: _Printer | None = None) -> str:
    """`lhs = formula = rhs` pretty-printed on a shared baseline.

    `lhs_width` pads the left side so the equations of one block line up at
    their `=`; lines wider than `width` wrap at `width` columns. `printer`
    shares the forms already laid out for the same derivation.
    """
    printer = printer or _printer(width)
    parts = [step.lhs] + ([step.formula] if step.formula is not None else []) + [step.rhs]
    if any(is_large(part) for part in parts[1:]):
        return linear_equation(parts, width)
    form = printer._print(parts[0])
    if form.width() < lhs_width:
        form = prettyForm(*form.left(" " * (lhs_width - form.width())))
    for part in parts[1:]:
        form = prettyForm(*stringPict.next(form, " = ", printer._print(part)))
    return form.render(wrap_line=True, num_columns=width, use_unicode=True)


def linear_equation(parts: list, width: int, printer: _LinearPrinter | None = None) -> str:
    """`lhs = formula = rhs` with the large parts in one-line form: a 2-D layout of them cannot be read."""
    printer = printer or _LinearPrinter()
    text = " = ".join(printer.doprint(part) for part in parts)
    return "\n".join(textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)) or text


def lhs_width(step, width: int = 100, printer: _Printer | None = None) -> int:
    """How wide the left side of a step prints (to align a block at its `=`)."""
    return (printer or _printer(width))._print(step.lhs).width()


def pretty(expr: sympy.Basic, width: int = 100, linear_printer: _LinearPrinter | None = None) -> str:
    """2-D, or one line for a large expression (`linear_printer` shares what the steps printed)."""
    if isinstance(expr, sympy.Eq) and is_large(expr.rhs):
        return linear_equation([expr.lhs, expr.rhs], width, linear_printer)
    if is_large(expr):
        return linear_equation([expr], width, linear_printer)
    return _printer(width).doprint(expr)


def groups(steps: Iterable) -> Iterator[tuple[str, str | None, list]]:
    """Consecutive steps of one kind (and one variable) form a block."""
    current: list = []
    for step in steps:
        if current and (step.kind != current[0].kind or step.wrt != current[0].wrt):
            yield current[0].kind, current[0].wrt, current
            current = []
        current.append(step)
    if current:
        yield current[0].kind, current[0].wrt, current


_UNNAMED_RULES = ("intermediate-variable", "substitute", "simplify")
#: derivations with more steps than this print one line per step
COMPACT_STEPS = 200
#: differentiate steps whose reason is the point of the lesson (the paper's vector rules)
_EXPLAINED_RULES = ("element-wise-diagonal", "scalar-expansion", "matrix-vector-product", "vector-matrix-product",
                    "softmax", "log-softmax", "logsumexp")  # these say which entries are normalized (the axis)


def title(derivation) -> str:
    if derivation.second is not None:
        return f"{sympy.sstr(derivation.second.lhs)}  of  {' '.join(derivation.source.split())}"
    by = ", ".join(derivation.wrt)
    by = by if len(derivation.wrt) == 1 else f"({by})"
    return f"d{derivation.output}/d{by}  of  {' '.join(derivation.source.split())}"


def renderables(derivation, width: int = 100):
    """What `rich` prints for a derivation: header, one panel per block, the result."""
    for block in blocks(derivation, width):
        yield to_rich(block)


def drawn(derivation, options):
    """What a rich console draws for a derivation: the blocks laid out by render/plain.py, with their styles.

    rich's own layout of the same blocks (`renderables`: panels, groups,
    wrapped texts) gives the same cells, but its per-line measuring and
    cropping cost more than deriving a small example; the plain layout is
    exact (tests/test_plain_layout.py holds the two to the same cells and
    styles). A console that cannot draw the box characters gets rich's
    layout, which substitutes them.
    """
    from .plain import styled_lines

    width = options.max_width
    if options.ascii_only or options.legacy_windows or width < 8:
        return list(renderables(derivation, width=width))
    return [LaidOutLines(styled_lines(blocks(derivation, width), width))]


def to_rich(item):
    """A block (render/plain.py) as the rich object that draws it."""
    from rich import box
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    if isinstance(item, Para):
        if item.wrap:
            return Text(item.plain, style=item.style or "")
        text = Text(no_wrap=True, overflow="crop", style=item.style or "")
        for number, runs in enumerate(item.lines):
            if number:
                text.append("\n")
            for piece, style in runs:
                text.append(piece, style=style)
        return text
    if isinstance(item, Laid):
        return LaidOutLines(item.lines)
    options = {"border_style": item.border_style} if item.border_style else {}
    return Panel(Group(*[to_rich(i) for i in item.items]), title=item.title, title_align="left",
                 box=box.DOUBLE if item.double else box.ROUNDED, style=item.style or "none", **options)


def blocks(derivation, width: int = 100) -> Iterator:
    """The derivation as layout blocks: header lines, one box per run of steps, the result box."""
    yield Para.of(title(derivation), "bold")
    yield Para.of(f"chain rule: {derivation.rule}   layout: {derivation.layout}", "dim")
    for note in derivation.notes:
        yield Para.of(f"note: {note}", "yellow")
    compact = len(derivation.steps) > COMPACT_STEPS
    linear_printer = _LinearPrinter()  # one for all blocks and the result: each subexpression printed once
    printer = _printer(width)  # the same for 2-D forms (their layout does not depend on the width)
    if compact:
        yield Para.of(f"{len(derivation.steps)} steps: one line each (2-D layout up to {COMPACT_STEPS} steps)",
                      "dim")
    for number, (kind, wrt, steps) in enumerate(groups(derivation.steps), start=1):
        if compact:
            items = [_compact_block(steps, kind, width, linear_printer)]
        else:
            items = []
            align = max(lhs_width(step, width, printer) for step in steps)
            for step in steps:
                rule, room = _rule_and_room(step, width - 4)
                items.append(_step_text(equation(step, room, align, printer), rule, width - 4))
                if _explained(step, kind):
                    items.append(Para(tuple(((line, None),) for line in _reason_lines(step.explanation, width - 4)),
                                      wrap=False, style="italic dim"))
        heading = f"{number}. {TITLES[kind]}" + (f" (by {wrt})" if wrt and kind != "introduce" else "")
        yield Box(heading, tuple(items), border_style="cyan")
    if derivation.expansion is not None:
        yield _expansion_panel(derivation, width)
    yield Box("Result", tuple(_result_lines(derivation, width, linear_printer)), double=True, style="bold",
              border_style="green")
    if derivation.check is not None:
        yield Para.of(derivation.check.line(), "green" if derivation.check.passed else "bold red")
    if derivation.answer is not None:
        yield Para.of(derivation.answer.line(), "green" if derivation.answer.correct else "bold red")


def _rule_and_room(step, inner: int) -> tuple[str, int]:
    """The rule shown at the right edge of a step (none for the unnamed ones), and the width left for it."""
    rule = "" if step.rule in _UNNAMED_RULES else step.rule
    return rule, max(24, inner - (len(rule) + 2 if rule else 0))


def _up_to_rule(line: str, rule: str, inner: int) -> str:
    """`line` padded so that `rule` after it ends at the right edge."""
    return line + " " * max(2, inner - len(rule) - cell_len(line))


def _explained(step, kind: str) -> bool:
    """Whether a step's reason is printed under it: chain-rule steps and the paper's vector rules."""
    return bool(step.explanation) and (kind in ("combine", "gradient") or step.rule in _EXPLAINED_RULES)


class LaidOutLines:
    """Lines already laid out to the width, as rich segments: rich only frames them.

    A rich `Text` of thousands of lines is split, measured and cropped line by
    line, most of the time of printing a long derivation; these lines were
    folded to the width when they were made, so each becomes its segments
    directly. `lines` holds (text, style) runs per line.
    """

    def __init__(self, lines: list[list[tuple[str, str | None]]]) -> None:
        self.lines = lines

    def __rich_console__(self, console, options):
        from rich.segment import Segment
        from rich.style import Style

        styles = {None: None}
        line = Segment.line()
        for runs in self.lines:
            pending, pending_style = [], None  # neighbouring runs of one style as one segment
            for text, style in runs:
                if pending and style != pending_style:
                    yield Segment("".join(pending), styles[pending_style])
                    pending = []
                if style not in styles:
                    styles[style] = Style.parse(style)
                pending.append(text)
                pending_style = style
            if pending:
                yield Segment("".join(pending), styles[pending_style])
            yield line


def _compact_block(steps: list, kind: str, width: int, printer: _LinearPrinter) -> Laid:
    """A block of a long derivation, a line per step in the input language.

    Thousands of 2-D equations take seconds to lay out and scroll past
    unread; one line each (folded when long) keeps every step and its rule,
    aligned at `=`, at a small fraction of the cost.
    """

    inner = width - 4
    lefts = [printer.doprint(step.lhs) for step in steps]
    align = max(len(left) for left in lefts)
    lines: list[list[tuple[str, str | None]]] = []
    for left, step in zip(lefts, steps):
        rule, room = _rule_and_room(step, inner)
        parts = [step.formula] if step.formula is not None else []
        line = " = ".join([left.rjust(align)] + [printer.doprint(part) for part in parts + [step.rhs]])
        folded = [line] if len(line) <= room else textwrap.wrap(
            line, room, subsequent_indent=" " * min(align + 3, room // 2), break_long_words=True,
            break_on_hyphens=False)
        first, *rest = folded
        lines.append([(_up_to_rule(first, rule, inner), None), (rule, "dim")] if rule else [(first, None)])
        lines.extend([(more, None)] for more in rest)
        if _explained(step, kind):
            lines.extend([(line, "italic dim")] for line in _reason_lines(step.explanation, inner))
    return Laid(lines)


def _reason_lines(explanation: str, inner: int) -> list[str]:
    """A step's reason under it, indented two spaces on every line it wraps to."""
    return ["  " + line for line in textwrap.wrap(explanation, max(inner - 2, 8), break_on_hyphens=False)]


def _step_text(equation_text: str, rule: str, inner: int) -> Para:
    """One step: its equation, the rule at the right edge of the first line.

    Composed as one unwrapped paragraph rather than a two-column table per
    step: rich lays a table out cell by cell, which was half the time of
    printing a derivation with thousands of steps.
    """
    lines = []
    for number, line in enumerate(equation_text.split("\n")):
        if number == 0 and rule:
            lines.append(((_up_to_rule(line, rule, inner), None), (rule, "dim")))
        else:
            lines.append(((line, None),))
    return Para(tuple(lines), wrap=False)


def _result_lines(derivation, width: int, linear_printer: _LinearPrinter | None = None) -> list[Para]:
    from ..steps import Partial

    # already folded to the width (2-D by SymPy, one-line forms by us): nothing wraps it again
    if len(derivation.gradients) > 1:
        return [Para.of(pretty(sympy.Eq(Partial(derivation.output, name, True), gradient, evaluate=False), width - 6,
                               linear_printer), wrap=False)
                for name, gradient in derivation.gradients.items()]
    return [Para.of(pretty(sympy.Eq(_result_lhs(derivation), derivation.result, evaluate=False), width - 6,
                           linear_printer), wrap=False)]


def _expansion_panel(derivation, width: int) -> Box:
    """The element-wise check: component functions, then per variable what sympy.diff gives and the result."""
    e = derivation.expansion
    items = [Para.of("component functions:"), Para.of(pretty(e.components, width - 6))]
    if e.upstream is not None:
        items.append(Para.of(f"the upstream gradient {e.upstream} is written out as one symbol per component", "dim"))
    for block in e.blocks:
        items += [
            Para.of(f"by {block.wrt}: {block.compared}, from sympy.diff:"), Para.of(pretty(block.jacobian, width - 6)),
            Para.of("the result written out:"), Para.of(pretty(block.vector_result, width - 6)),
            Para.of("equal" if block.equal else "NOT EQUAL", "green" if block.equal else "bold red"),
        ]
    items.append(Para.of(expansion_verdict(derivation), "bold green" if e.equal else "bold red"))
    return Box(f"Element-wise check (every dimension = {e.size})", tuple(items))


def expansion_verdict(derivation) -> str:
    """One line on the whole element-wise check (the terminal's last line of it; LaTeX and Markdown too)."""
    e = derivation.expansion
    if not e.equal:
        return "NOT EQUAL: " + ", ".join(block.wrt for block in e.blocks if not block.equal)
    if derivation.rule == "backprop":
        return "equal: every gradient is what sympy.diff of the components gives"
    return "equal: the vector result is the Jacobian of the components"


def _result_lhs(derivation):
    from ..steps import Partial

    if derivation.second is not None:  # ∂²f/∂x∂xᵀ, ∇²f(X)[V]
        return derivation.second.lhs
    return Partial(derivation.output, ", ".join(derivation.wrt),
                   len(derivation.wrt) > 1 or len(derivation.symbols) > 1)


def render_text(derivation, width: int = 100) -> str:
    """Plain text: the terminal layout with no colour, laid out without rich (render/plain.py)."""
    return render_plain(blocks(derivation, width), width)
