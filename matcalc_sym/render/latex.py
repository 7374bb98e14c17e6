"""LaTeX: the derivation as `align*` blocks, one per run of steps of one kind.

The printer is SymPy's `LatexPrinter` with the paper's notation added: a
symbol declared with a 1-D shape prints bold (\\mathbf{x}), a 2-D one upright
(\\mathrm{W}); element-wise products are ⊙ (\\odot), diag(·) is an operator
name, the ones vector is \\mathbb{1}. Which names are arrays comes from the
derivation (declared shapes plus the shape recorded on each introduce step),
so the same printer serves scalars, vectors and matrices.

Free text (explanations, rule names, shapes) may hold Unicode such as × or ᵀ;
`text()` turns it into something pdflatex compiles without extra packages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence_traditional

from .printable import PrintsEachOnce, is_large, latex_matmul, misread, negated, negative
from .terminal import COMPACT_STEPS, TITLES, groups

#: a document that compiles with Debian's texlive-latex-base alone
PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath}
\usepackage{amssymb}
\usepackage{bm}
% amssymb has no double-struck one; write the ones vector as a bold 1 in print
\let\matcalcmathbb\mathbb
\renewcommand{\mathbb}[1]{\ifx1#1\bm{1}\else\matcalcmathbb{#1}\fi}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\sloppy % long input in \texttt (which cannot stretch) breaks at its spaces instead of running into the margin
"""


def _product_space(expr):
    """What stands between two factors of `expr`: a thin space next to a matrix name of several letters
    (\\mathrm{Wc} \\mathrm{cp} typesets as "Wccp"; LaTeX puts no space between two upright names),
    when such a name is followed by another factor."""
    factors = [a for a in expr.args if not a.is_number]
    spaced = any(_long_name(a) for a in factors[:-1])

    def space(before, after) -> str:
        return r" \, " if spaced and not before.is_number and (_long_name(before) or _long_name(after)) else " "

    return space


def _long_name(expr) -> bool:
    """A matrix name of several letters (Wc, Wout), or its transpose."""
    named = expr.arg if isinstance(expr, sympy.Transpose) else expr
    return isinstance(named, sympy.MatrixSymbol) and len(re.sub(r"\d+$", "", named.name)) > 1


#: what SymPy's LaTeX printer looks for inside every factor and term (brackets around them)
_CONTAINERS = (sympy.Mod, sympy.Integral, sympy.Product, sympy.Sum)


class MatcalcLatexPrinter(PrintsEachOnce, LatexPrinter):
    """LaTeX in the paper's notation; `array_ndim` maps a name to 1 (vector) or 2 (matrix)."""

    printmethod = "_latex"
    _default_settings = {**LatexPrinter._default_settings, "array_ndim": {}, "long_derivation": False,
                         "all_large": False}

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self._large = False
        self._no_containers = False  # whether the expression printing holds no Mod, Integral, Sum or Product
        self._doprinted: dict = {}
        self._printed_large: dict = {}
        self._step_printer: MatcalcLatexPrinter | None = None
        self._holds: dict = {}  # id → (subexpression, whether a Mod, Integral, Sum or Product is in it)

    def for_steps(self) -> MatcalcLatexPrinter:
        """The printer for the steps: for a long derivation, one that reads every product off its factors.

        SymPy's own layout of a product builds new expressions and asks them
        assumptions, and a derivation with thousands of steps prints thousands
        of products (a third of its LaTeX and JSON); there the steps print
        as large expressions do (`2 \\cdot x`), while the title and the result
        keep SymPy's layout (`2 x`). The two share what both print the same way.
        """
        if not self._settings["long_derivation"]:
            return self
        if self._step_printer is None:
            steps = MatcalcLatexPrinter({"array_ndim": self._settings["array_ndim"], "order": self._settings["order"],
                                         "long_derivation": True, "all_large": True})
            steps._printed_large, steps._holds = self._printed_large, self._holds
            self._step_printer = steps
        return self._step_printer

    def _needs_mul_brackets(self, expr, first=False, last=False) -> bool:
        """SymPy's rule, without asking each factor whether it holds a Mod, an Integral, a Sum or a Product.

        SymPy walks every factor of every product (and every term of every
        sum) for those classes, a walk of the whole subtree each time: a
        third of the LaTeX time of a derivation with thousands of steps.
        `doprint` asks the whole expression once; where none is in it, the
        answer is the same without the walks.
        """
        if not self._no_containers:
            return super()._needs_mul_brackets(expr, first=first, last=last)
        if expr.is_Mul:
            if not first and expr.could_extract_minus_sign():
                return True
        elif precedence_traditional(expr) < PRECEDENCE["Mul"] or expr.is_Relational:
            return True
        return bool(expr.is_Piecewise)

    def _holds_container(self, expr: sympy.Basic) -> bool:
        """`expr.has(*_CONTAINERS)`, each subexpression object looked at once for the whole derivation.

        The steps share their subtrees (each substitution holds the last), so
        walking every printed expression again was quadratic in a long
        derivation. Known by identity (the shared subtrees are the same
        objects; comparing equal trees is itself a walk), holding each object
        so its id is not reused. Iterative: an expression may be nested
        deeper than Python's recursion limit.
        """
        known = self._holds
        if id(expr) in known:
            return known[id(expr)][1]
        pending = [(expr, False)]
        while pending:
            node, children_known = pending.pop()
            if id(node) in known:
                continue
            if children_known:
                known[id(node)] = (node, isinstance(node, _CONTAINERS) or any(known[id(a)][1] for a in node.args))
            else:
                pending.append((node, True))
                pending.extend((arg, False) for arg in node.args if id(arg) not in known)
        return known[id(expr)][1]

    def _needs_add_brackets(self, expr) -> bool:
        """SymPy's rule, without the walk for a Mod where `doprint` found none (see `_needs_mul_brackets`)."""
        if not self._no_containers:
            return super()._needs_add_brackets(expr)
        return bool(expr.is_Relational or expr.is_Add)

    def _print_MatMul(self, expr):
        return latex_matmul(self, expr, _product_space(expr))

    def _print_MatAdd(self, expr):
        """I − \\frac{1}{n} 𝟙𝟙ᵀ: positive terms first, then each negative one after a binary minus."""
        terms = sorted(expr.args, key=negative)
        tex = ""
        for index, term in enumerate(terms):
            minus = negative(term)
            body = self._print(negated(term) if minus else term)
            if isinstance(term, (sympy.Add, sympy.MatAdd)):
                body = rf"\left({body}\right)"
            tex += (" - " if index else "- ") + body if minus else (" + " if index else "") + body
        return tex

    def doprint(self, expr) -> str:
        """A large expression prints in the order it was built: sorting its sums cost a third of the time."""
        remembered = isinstance(expr, sympy.Basic)
        printed = self._doprinted.get(expr) if remembered else None
        if printed is not None:  # the steps repeat their expressions (a step's result is the next one's term)
            return printed
        self._large = self._settings["all_large"] or is_large(expr)
        self._no_containers = isinstance(expr, sympy.Basic) and not self._holds_container(expr)
        order = self._settings["order"]
        if self._large:
            self._settings["order"] = "none"
        try:
            printed = super().doprint(expr)
            if remembered:
                self._doprinted[expr] = printed
            return printed
        finally:
            self._large = self._no_containers = False
            self._settings["order"] = order

    def _memo(self) -> dict:
        return self._printed_large if self._large else self._printed  # large mode prints differently

    def _print_Mul(self, expr) -> str:
        """Products and quotients of a large expression read off its factors, asking SymPy nothing.

        SymPy's own `_print_Mul` splits a product with `fraction()` and negates
        it, building new expressions whose construction asks assumptions
        (`is_infinite`, `is_negative`) of every subterm; with real symbols under
        sin and tanh, that took 7 s for a 1600-node derivative, and recursed
        past Python's limit at 3200. Small expressions keep SymPy's layout.
        """
        if not self._large:
            return super()._print_Mul(expr)
        factors = [expr] if expr.is_Pow else list(expr.args)
        numerator, denominator = [], []
        for factor in factors:
            exponent = factor.exp if factor.is_Pow else None
            if exponent is not None and exponent.is_Number and exponent < 0:
                denominator.append(factor.base if exponent == -1 else sympy.Pow(factor.base, -exponent, evaluate=False))
            else:
                numerator.append(factor)
        sign = ""
        if numerator and numerator[0].is_Number and numerator[0] < 0:
            sign, numerator[0] = "- ", -numerator[0]
            if numerator[0] == 1 and len(numerator) > 1:
                numerator.pop(0)
        if not denominator:
            return sign + self._product(numerator, braced=False)
        return sign + rf"\frac{{{self._product(numerator)}}}{{{self._product(denominator)}}}"

    def _product(self, factors: list, braced: bool = True) -> str:
        """Factors joined by ·; a lone factor inside \\frac's braces needs no parentheses."""
        if not factors:
            return "1"
        if braced and len(factors) == 1:
            return self._print(factors[0])
        return r" \cdot ".join(self.parenthesize(f, PRECEDENCE["Mul"]) for f in factors)

    def _print_Symbol(self, expr, style="plain"):
        ndim = self._settings["array_ndim"].get(expr.name)
        if misread(expr.name):  # x__2 is not x², xdot not ẋ: the name as written
            font = {1: r"\mathbf", 2: r"\mathrm"}.get(ndim, r"\mathit")
            return f"{font}{{{expr.name.replace('_', chr(92) + '_')}}}"
        printed = super()._print_Symbol(expr, style="plain")
        if not ndim or printed.startswith("\\frac"):
            return printed
        base, sep, rest = printed.partition("_")
        base, sup, more = base.partition("^")
        font = r"\mathbf" if ndim == 1 else r"\mathrm"
        return f"{font}{{{base}}}{sup}{more}{sep}{rest}"

    def _print_MatrixSymbol(self, expr):
        return self._print_Symbol(expr)

    def _print_Transpose(self, expr):
        if isinstance(expr.arg, sympy.Inverse):
            return rf"{self.parenthesize(expr.arg.arg, PRECEDENCE['Pow'], strict=True)}^{{-T}}"
        inner = self._print(expr.arg)
        if inner.startswith("\\frac"):
            return rf"\left({inner}\right)^{{T}}"
        return super()._print_Transpose(expr)

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in expr.args)

    def _print_OneMatrix(self, expr):
        rows, cols = expr.shape
        return r"\mathbb{1}^{T}" if rows == 1 and cols != 1 else r"\mathbb{1}"

    def _print_ZeroMatrix(self, expr):
        return r"\mathbf{0}"

    def _print_Identity(self, expr):
        return r"\mathrm{I}"

    def _diag(self, vector) -> str:
        return rf"\operatorname{{diag}}\left({self._print(vector)}\right)"

    def _print_DiagMatrix(self, expr):
        return self._diag(expr.args[0])

    def _print_DiagonalizeVector(self, expr):
        return self._diag(expr.args[0])

    def _print_Max(self, expr, exp=None):
        """max(x, y); SymPy passes `exp` for a power such as max(x, y)**3."""
        return self._with_exponent(rf"\max\left({', '.join(self._print(a) for a in expr.args)}\right)", exp)

    def _print_Min(self, expr, exp=None):
        return self._with_exponent(rf"\min\left({', '.join(self._print(a) for a in expr.args)}\right)", exp)

    @staticmethod
    def _with_exponent(body: str, exp) -> str:
        return body if exp is None else rf"{body}^{{{exp}}}"


def array_ndim(derivation) -> dict[str, int]:
    """Which names are vectors (1) and matrices (2): declared shapes plus introduced ones."""
    dims: dict[str, int] = {}
    for name, shape in derivation.shapes.items():
        dims[name] = _ndim(shape)
    for step in derivation.steps:
        if step.kind == "introduce" and "shape" in step.shapes:
            dims[str(step.lhs)] = _ndim(step.shapes["shape"])
    return {name: n for name, n in dims.items() if n}


def _ndim(shape: str) -> int:
    shape = str(shape).strip()
    if shape in ("", "1", "()"):
        return 0
    return len(re.split(r"[×,x]", shape)) if "×" in shape or "," in shape else 1


def printer_for(derivation=None, ndim: Mapping[str, int] | None = None) -> MatcalcLatexPrinter:
    """The printer for one derivation; a long one keeps every sum in the order it was built.

    Sorting the terms of each sum was a fifth of the LaTeX time of a
    derivation with thousands of steps, which no one reads for term order
    (the terminal prints those one line per step, in build order too).
    """
    dims = dict(ndim or {}) if derivation is None else array_ndim(derivation)
    settings = {"array_ndim": dims}
    if derivation is not None and len(derivation.steps) > COMPACT_STEPS:
        settings["order"] = "none"
        settings["long_derivation"] = True
    return MatcalcLatexPrinter(settings)


def latex(expr: sympy.Basic, derivation=None, ndim: Mapping[str, int] | None = None) -> str:
    """One expression in the paper's notation (arrays taken from `derivation` or `ndim`)."""
    return printer_for(derivation, ndim).doprint(expr)


_UNICODE = {
    "×": r"\times ", "·": r"\cdot ", "⊙": r"\odot ", "⊘": r"\oslash ", "∂": r"\partial ", "−": "-",
    "≤": r"\le ", "≥": r"\ge ", "≠": r"\ne ", "→": r"\to ", "Σ": r"\Sigma ", "σ": r"\sigma ",
    "‖": r"\|", "…": r"\ldots ", "𝟙": r"\mathbb{1}", "ᵀ": "^{T}", "ⁿ": "^{n}", "⁻": "^{-}", "¹": "^{1}",
    "²": "^{2}", "³": "^{3}", "ᵢ": "_{i}", "ⱼ": "_{j}", "₁": "_{1}", "₂": "_{2}", "₃": "_{3}",
    "∇": r"\nabla ", "⁰": "^{0}", "⁴": "^{4}", "⁵": "^{5}", "⁶": "^{6}", "⁷": "^{7}", "⁸": "^{8}", "⁹": "^{9}",
}
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def text(value: str) -> str:
    """Free text for a LaTeX text context: specials escaped, Unicode math as inline math."""
    out = []
    for char in str(value):
        if char in _SPECIAL:
            out.append(_SPECIAL[char])
        elif char in _UNICODE:
            out.append(f"${_UNICODE[char].strip()}$")
        elif ord(char) > 127:
            out.append("?")
        else:
            out.append(char)
    # shape products such as (1×N)(N×N)(N×n) may break between factors
    return "".join(out).replace("$$", "").replace(")(", r")\allowbreak(")


_MATH_SPECIAL = {"\\": r"\backslash ", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\sim ", "^": r"\text{**}", "<": "<", ">": ">", "|": r"\vert "}


def math_text(value: str) -> str:
    """Free text inside math (`\\text{…}` runs, symbols as math) that LaTeX and MathJax agree on.

    MathJax prints a backslash command inside \\text{} literally, so nothing
    that needs escaping stays inside one.
    """
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append(r"\text{" + "".join(run) + "}")
            run.clear()

    for char in str(value):
        symbol = _MATH_SPECIAL.get(char) or _UNICODE.get(char) or ("?" if ord(char) > 127 else None)
        if symbol is None:
            run.append(char)
        else:
            flush()
            out.append(symbol)
    flush()
    return "".join(out)


def code(value: str) -> str:
    """The user's input in typewriter type."""
    return rf"\texttt{{{text(' '.join(value.split()))}}}"


#: printed characters (roughly) beyond which `lhs = formula = rhs` is split over two lines
LONG_LINE = 70
#: steps per align* environment: pdflatex holds a whole environment in its main memory, and a block of
#: a thousand steps exceeded it ("TeX capacity exceeded")
ALIGN_STEPS = 100
#: printed characters (`linebreak.width`) a row of an align* block may take on the page (11pt, 2 cm margins)
LINE_WIDTH = 74
#: characters of the rule-and-shape note beyond which it continues on the next row
NOTE_WIDTH = 30
#: printed characters of an inline `\\displaystyle` formula in a paragraph (its fractions are set large)
INLINE_WIDTH = 64
#: printed characters inside the result's box
RESULT_WIDTH = 66
#: the least room an equation keeps on a row, however wide its left side and note
MIN_BUDGET = 24


def _visible(latex_text: str) -> int:
    """About how many characters a LaTeX fragment prints: commands and braces dropped."""
    return len(re.sub(r"\\[A-Za-z]+|[{}\s]", "", latex_text))


def step_note(step) -> str:
    """The rule of a step and, for an introduce step of arrays, its shape in words (never a bare equation)."""
    notes = [step.rule]
    if "shape" in step.shapes:
        notes.append(shape_words(str(step.shapes["shape"]), step.shapes.get("equation")))
    return "; ".join(notes)


def shape_words(shape: str, equation: str | None) -> str:
    """`n×5 = (n×3)@(3×5)` as "shape n×5, from (n×3)@(3×5)"; an operation on scalars is "a scalar".

    An equation of shapes beside an equation of values read as another equation ("1 = sqrt(1)");
    the note says in words what the shape is and where it comes from.
    """
    if not equation or " = " not in equation:
        return "a scalar" if shape == "1" else f"shape {shape}"
    result, _, operands = equation.partition(" = ")
    arrays = "×" in operands or re.search(r"\((?!1\))\w+\)", operands)
    if result == "1":
        return f"a scalar, from {operands}" if arrays else "a scalar"
    return f"shape {result}, from {operands}"


def _note_rows(note: str) -> list[str]:
    """The note as rows of at most about NOTE_WIDTH characters, broken after "; " or a space."""
    rows: list[str] = []
    for word in re.split(r"(?<=;) |(?<=,) | (?=from )", note):
        if rows and len(rows[-1]) + 1 + len(word) <= NOTE_WIDTH:
            rows[-1] += " " + word
        else:
            rows.append(word)
    return rows


def step_parts(step, printer: MatcalcLatexPrinter) -> list[str]:
    printer = printer.for_steps()
    parts = [printer.doprint(step.lhs)]
    if step.formula is not None:
        parts.append(printer.doprint(step.formula))
    parts.append(printer.doprint(step.rhs))
    return parts


def block_budget(steps, printer: MatcalcLatexPrinter) -> float:
    """The room for the right-hand sides of one align* block: every row shares its columns, so the
    widest left side and the widest note of the block decide it."""
    from .linebreak import width

    printer = printer.for_steps()
    lhs = max((width(printer.doprint(step.lhs)) for step in steps), default=0)
    note = max((min(len(step_note(step)), NOTE_WIDTH) for step in steps), default=0)
    return max(MIN_BUDGET, LINE_WIDTH - lhs - note - 6)


def step_line(step, printer: MatcalcLatexPrinter, budget: float | None = None) -> str:
    """`lhs &= formula = rhs && \\text{rule}` for one step; a long one broken over aligned rows."""
    from .linebreak import break_math, fits

    parts = step_parts(step, printer)
    note = step_note(step)
    if budget is None:
        joiner = r" \\" + "\n" + "&= " if sum(_visible(p) for p in parts) > LONG_LINE else " = "
        return parts[0] + " &= " + joiner.join(parts[1:]) + " && " + math_text(note)
    rows: list[str] = []
    for part in parts[1:]:
        pieces = break_math(part, budget)
        if rows and len(pieces) == 1 and fits(rows[-1].split("&=")[-1] + " = " + pieces[0], budget):
            rows[-1] += " = " + pieces[0]
            continue
        rows.append(("&= " if rows else parts[0] + " &= ") + pieces[0])
        rows += [r"&\quad " + piece for piece in pieces[1:]]
    notes = _note_rows(note) if len(note) > NOTE_WIDTH else [note]
    rows += ["&"] * (len(notes) - len(rows))
    return " \\\\\n".join(row + (" && " + math_text(notes[i]) if i < len(notes) else "")
                         for i, row in enumerate(rows))


def broken(lhs: str, rhs: str, budget: float) -> str:
    """`lhs = rhs` for a display: one line when it fits, else `aligned` rows with `\\quad` continuations."""
    from .linebreak import break_math

    pieces = break_math(rhs, budget)
    if len(pieces) == 1:
        return f"{lhs} = {rhs}"
    rows = [f"{lhs} &= {pieces[0]}", *[r"&\quad " + piece for piece in pieces[1:]]]
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def _display(lhs: str, rhs: str) -> str:
    """The expression under the title: inline when it fits the page, else broken in a display."""
    from .linebreak import width

    if width(lhs) + width(rhs, limit=INLINE_WIDTH) + 3 <= INLINE_WIDTH:
        return rf"$\displaystyle {lhs} = {rhs}$\\"
    return r"\begin{equation*}" + broken(lhs, rhs, LINE_WIDTH - width(lhs) - 8) + r"\end{equation*}"


def header(derivation, printer: MatcalcLatexPrinter) -> list[str]:
    from .terminal import _result_lhs

    output = sympy.Symbol(derivation.output)
    wrt = ", ".join(printer.doprint(sympy.Symbol(name)) for name in derivation.wrt)
    lines = [
        rf"\textbf{{Derivative of}} {code(derivation.source)} \textbf{{by}} ${wrt}$\\",
        _display(printer.doprint(output), printer.doprint(derivation.expression)),
        rf"Chain rule: {text(derivation.rule)}; layout: {text(derivation.layout)}"
        + rf" (we want ${printer.doprint(_result_lhs(derivation))}$).",
    ]
    lines += [rf"\\ \emph{{Note:}} {text(note)}" for note in derivation.notes]
    return lines


def body(derivation) -> str:
    """The derivation without a document around it (for \\input or a notebook)."""
    printer = printer_for(derivation)
    lines = header(derivation, printer)
    for number, (kind, wrt, steps) in enumerate(groups(derivation.steps), start=1):
        by = f" (by ${printer.doprint(sympy.Symbol(wrt))}$)" if wrt and kind != "introduce" else ""
        lines.append(rf"\subsection*{{{number}. {TITLES[kind]}{by}}}")
        budget = block_budget(steps, printer)
        for start in range(0, len(steps), ALIGN_STEPS):  # TeX holds one align* in memory at once
            lines.append(r"\begin{align*}")
            lines.append("\\\\\n".join(step_line(step, printer, budget) for step in steps[start:start + ALIGN_STEPS]))
            lines.append(r"\end{align*}")
        lines += [text(step.explanation) + r"\par" for step in steps
                  if kind in ("combine", "gradient") and step.explanation]
    if derivation.expansion is not None:
        lines += _expansion_latex(derivation, printer)
    lines.append(r"\subsection*{Result}")
    lines.append(r"\begin{equation*}")
    lines.append(r"\boxed{" + _result(derivation, printer) + "}")
    lines.append(r"\end{equation*}")
    if derivation.answer is not None:  # --answer: the student's text and what the comparison found
        lines.append(r"\noindent\textbf{Your answer} \texttt{" + text(derivation.answer.answer) + "}: "
                     + text(derivation.answer.line()) + r"\par")
    return "\n".join(lines) + "\n"


#: LaTeX characters up to which a block of the element-wise check prints its written-out matrices
EXPANSION_SHOWN = 2000


def expansion_parts(derivation, printer: MatcalcLatexPrinter) -> tuple[str, list[tuple[str, list[str]]], str]:
    """The element-wise check for LaTeX and Markdown: a title, (sentence, `aligned` rows) per variable, a verdict.

    The matrices are left out (and the sentence says so) when they would run
    to pages; the terminal and the JSON output always carry them.
    """
    from .terminal import expansion_verdict

    e = derivation.expansion
    blocks = []
    for block in e.blocks:
        sentence = f"By {block.wrt}: {block.compared}: {'equal' if block.equal else 'NOT EQUAL'}."
        rows = [math_text("sympy.diff") + " &= " + printer.doprint(block.jacobian),
                math_text("result") + " &= " + printer.doprint(block.vector_result)]
        if sum(len(row) for row in rows) > EXPANSION_SHOWN:
            sentence += " (The matrices are too large to print here; the JSON output has them.)"
            rows = []
        blocks.append((sentence, rows))
    return f"Element-wise check (every dimension = {e.size})", blocks, expansion_verdict(derivation)


def _expansion_latex(derivation, printer: MatcalcLatexPrinter) -> list[str]:
    title, blocks, verdict = expansion_parts(derivation, printer)
    lines = [rf"\subsection*{{{text(title)}}}"]
    for sentence, rows in blocks:
        lines.append(text(sentence) + r"\par")
        if rows:
            lines += [r"\begin{align*}", "\\\\\n".join(rows), r"\end{align*}"]
    lines.append(rf"\textbf{{{text(verdict)}}}\par")
    return lines


def _result(derivation, printer: MatcalcLatexPrinter) -> str:
    from ..steps import Partial
    from .linebreak import break_math, width
    from .terminal import _result_lhs

    if len(derivation.gradients) > 1:
        rows = []
        for name, g in derivation.gradients.items():
            lhs = printer.doprint(Partial(derivation.output, name, True))
            pieces = break_math(printer.doprint(g), RESULT_WIDTH - width(lhs))
            rows += [f"{lhs} &= {pieces[0]}", *[r"&\quad " + piece for piece in pieces[1:]]]
        return r"\begin{aligned}" + r"\\ ".join(rows) + r"\end{aligned}"
    lhs = printer.doprint(_result_lhs(derivation))
    return broken(lhs, printer.doprint(derivation.result), RESULT_WIDTH - width(lhs))


def to_latex(derivation, standalone: bool = False) -> str:
    """The derivation in LaTeX; `standalone` wraps it in a complete document."""
    content = body(derivation)
    if not standalone:
        return content
    return PREAMBLE + "\\begin{document}\n" + content + "\\end{document}\n"


def math_block(derivation) -> list[tuple[str, str | None, list[str]]]:
    """For Markdown and notebooks: (title, wrt, equations as `aligned` rows) per block."""
    printer = printer_for(derivation)
    blocks = []
    for kind, wrt, steps in groups(derivation.steps):
        blocks.append((TITLES[kind], wrt if kind != "introduce" else None,
                       [step_line(step, printer) for step in steps]))
    return blocks


def result_math(derivation) -> str:
    return _result(derivation, printer_for(derivation))
