"""Regenerate the gallery in docs/ from the current code: `python docs/build.py`.

Every page is derived by `derive` and rendered with `to_markdown()`, so the
pages can never disagree with the tool; tests/test_docs.py fails when the
committed files differ from what this script produces (run it and commit).
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Entry:
    """One derivation on a page, with a sentence of our own before it."""

    sentence: str
    text: str
    wrt: str | None = None
    shapes: dict = field(default_factory=dict)
    rules: tuple[str, ...] = ()
    #: "hessian" or "hvp" for a second derivative, else None
    second: str | None = None
    #: a student's answer to compare (`--answer`), else None
    answer: str | None = None


@dataclass(frozen=True)
class Page:
    filename: str
    title: str
    introduction: str
    entries: tuple[Entry, ...]


V = {"w": "n", "x": "n"}
LOSS = {"X": "N,n", "y": "N", "w": "n"}
RNN = {"Wc": "nc,nc", "cp": "nc,m", "Wx": "nc,nx", "x": "nx,m", "b": "nc,1"}
NET = {"X": "n,3", "Wh": "5,3", "bh": "5", "Wout": "3,5", "bout": "3", "Y": "n,3"}
NET_TEXT = "Zh = X@Wh.T + bh; Ah = tanh(Zh); Zo = Ah@Wout.T + bout; Ao = tanh(Zo); L = sum((Ao - Y)**2)/(3*n)"

PAGES = (
    Page("01-scalar-chain-rules.md", "Scalar chain rules",
         "One variable, nested functions. Each operation gets its own intermediate variable; when x reaches "
         "the output along one path the local derivatives multiply, and when it reaches it along several the "
         "total-derivative rule adds the contribution of every path.",
         (Entry("The smallest nesting: a square inside a sine, one path from x to y.", "sin(x**2)"),
          Entry("Four levels deep, still one path, so four local derivatives multiply.", "log(sin(x**3)**2)"),
          Entry("x feeds the sum twice, directly and through the square: two paths, two terms.", "x + x**2"),
          Entry("The two paths meet inside a sine; the total derivative of the inner sum is reused.",
                "sin(x + x**2)"),
          Entry("A product of x with its own square: the total-derivative formula still adds partials.",
                "x * x**2"),
          Entry("A constant factor outside the two paths.", "9*(x + x**2)"))),
    Page("02-partial-derivatives-and-jacobians.md", "Partial derivatives, gradients and Jacobians",
         "Several variables: each partial derivative is its own small derivation with the other variables "
         "held constant, and the partials are collected into a gradient (a row, in numerator layout) or a "
         "Jacobian (one row per output).",
         (Entry("A gradient of a scalar function of x and y.", "3*x**2*y", "x,y"),
          Entry("A Jacobian of two functions of x and y.", "[3*x**2*y, 2*x + y**8]", "x,y"),
          Entry("A vector of functions of one scalar: the vector chain rule with a diagonal outer Jacobian.",
                "[log(x**2), sin(3*x)]", "x"))),
    Page("03-element-wise-operations.md", "Element-wise operations and the diagonal condition",
         "When the i-th output depends only on the i-th inputs, every off-diagonal partial is zero: the "
         "Jacobian is diag(∂fᵢ/∂wᵢ), taken from the scalar rule applied element by element.",
         (Entry("Addition: the identity.", "w + x", "w", V),
          Entry("Subtraction, by the second operand: minus the identity.", "w - x", "x", V),
          Entry("The element-wise product: diag of the other operand.", "w*x", "w", V),
          Entry("The element-wise quotient, by the denominator.", "w/x", "x", V))),
    Page("04-scalar-expansion-and-reductions.md", "Scalar expansion and reductions",
         "A scalar added to or multiplied with a vector is expanded to every element, so its Jacobian is a "
         "column; a sum reduces a vector to a scalar, so its Jacobian is the row 𝟙ᵀ. The dot product is an "
         "element-wise product followed by a sum.",
         (Entry("Scalar expansion, by the vector.", "x + z", "x", {"x": "n"}),
          Entry("Scalar expansion, by the scalar: a column of ones.", "x + z", "z", {"x": "n"}),
          Entry("A scaled vector, by the vector: z·I.", "x*z", "x", {"x": "n"}),
          Entry("A scaled vector, by the scalar: the vector itself.", "x*z", "z", {"x": "n"}),
          Entry("The sum of a vector: 𝟙ᵀ.", "sum(x)", "x", {"x": "n"}),
          Entry("The sum of a scaled vector, by the vector.", "sum(x*z)", "x", {"x": "n"}),
          Entry("The sum of a scaled vector, by the scalar.", "sum(x*z)", "z", {"x": "n"}),
          Entry("The dot product, through u = w ⊙ x and y = sum(u).", "dot(w, x)", "w", V))),
    Page("05-neuron-and-loss.md", "A neuron and its loss",
         "A ReLU neuron max(0, w·x + b) has two cases, and so does its gradient. Over N samples the mean "
         "squared error sums the contributions of the samples where the neuron is active.",
         (Entry("The activation, by the weights.", "max(0, dot(w, x) + b)", "w", V),
          Entry("The activation, by the bias.", "max(0, dot(w, x) + b)", "b", V),
          Entry("The loss over N samples, by the weights.", "mean((y - max(0, X@w + b))**2)", "w", LOSS),
          Entry("The loss over N samples, by the bias.", "mean((y - max(0, X@w + b))**2)", "b", LOSS))),
    Page("06-matrix-functions-and-backprop.md", "Matrix-valued functions and backprop",
         "With matrices on the path, Jacobians would have four dimensions. Reverse mode never builds them: "
         "each operation maps the adjoint of its result to the adjoints of its operands, and every gradient "
         "comes out shaped like its parameter.",
         (Entry("An RNN cell over a minibatch, by the input weights: the upstream gradient ∂J/∂c stands in "
                "for the loss.", "c = tanh(Wc@cp + Wx@x + b)", "Wx", RNN),
          Entry("The same cell, by the bias that broadcasts across the minibatch.",
                "c = tanh(Wc@cp + Wx@x + b)", "b", RNN),
          Entry("A two-layer tanh network with a squared-error loss, by all four parameters.",
                NET_TEXT, "Wout, bout, Wh, bh", NET))),
)

ROOT = DOCS.parent


def worked_examples(test_file: str) -> tuple[Entry, ...]:
    """The WORKED_EXAMPLES list of a test module, as gallery entries.

    The tests derive and check each of these against finite differences of
    NumPy reading the text; reading the list from the tests keeps the gallery
    and what is verified the same list. A module's WORKED_EXAMPLES_RULES are
    rules files (relative to the repository) its examples need.
    """
    import importlib.util

    path = ROOT / "tests" / test_file
    sys.path.insert(0, str(ROOT))
    try:
        spec = importlib.util.spec_from_file_location(f"gallery_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT))
    rules = tuple(str(Path(r)) for r in getattr(module, "WORKED_EXAMPLES_RULES", ()))
    second = getattr(module, "kind_of", lambda wrt, shapes: None)  # a second-derivative module says which
    return tuple(Entry(title.rstrip(".") + ".", text, wrt, dict(shapes), rules, second(wrt, shapes))
                 for title, text, wrt, shapes in module.WORKED_EXAMPLES)


PAGES += (
    Page("07-softmax-and-cross-entropy.md", "Softmax, cross-entropy and attention",
         "The operations a classifier and a transformer layer add to the paper: softmax, log-softmax and "
         "log-sum-exp (row-wise with axis=1), cross-entropy, GELU and SiLU. Cross-entropy after a softmax "
         "reaches the classic result: the softmax output minus the target, once the target sums to one.",
         worked_examples("test_softmax_family.py")),
    Page("08-normalization-and-reductions.md", "Normalization and reductions along an axis",
         "Reductions with axis= and keepdims= as NumPy computes them, and the normalizations built from "
         "them: layer norm over each sample's features, batch norm over the samples, max pooling.",
         worked_examples("test_reductions_more.py")),
    Page("09-linear-algebra-einsum-indexing.md", "Kronecker products, matrix powers, einsum and indexing",
         "Results from the Matrix Cookbook (traces of Kronecker products and of matrix powers), element-wise "
         "clip, abs and sign, contractions written with einsum, and indexing with literal integers and slices.",
         worked_examples("test_linalg_more.py") + worked_examples("test_einsum_indexing.py")),
    Page("10-array-functions-from-a-rules-file.md", "Array functions declared in a rules file",
         "A rules file may declare a new array function with its vector-Jacobian product (and Jacobian) as "
         "formulas; they are proven against finite differences when the file is loaded. These examples use "
         "`examples/normalize.toml`, which declares normalize(u) = u/‖u‖.",
         worked_examples("test_user_array_functions.py")),
    Page("11-second-derivatives.md", "Second derivatives: Hessians and Hessian-vector products",
         "The gradient is derived first (shown as one collapsed step), written back in the input language and "
         "differentiated again with the same rules. A vector variable gets its n×n Hessian in closed form; a "
         "matrix variable gets the Hessian-vector product along a direction V, so the four-index Hessian is "
         "never formed.",
         worked_examples("test_hessian.py")),
    Page("12-check-my-answer.md", "Check my answer: what a wrong derivative gets wrong",
         "With `--answer` (or `answer=`) the tool compares a derivative you expect with the one it derives, "
         "at random points where NumPy computes your text, and names the mistake: one common mistake of each "
         "kind below, then a right answer written differently from the tool's.",
         (Entry("A layout mix-up: the transpose of the derivative.", "trace(A@X)", "X",
                {"A": "n,n", "X": "n,n"}, answer="A"),
          Entry("A missing constant factor: the mean's 1/n.", "mean(x**2)", "x", {"x": "n"}, answer="2*x"),
          Entry("A missing term: x reaches the output along two paths.", "x@A@x", "x",
                {"x": "n", "A": "n,n"}, answer="A@x"),
          Entry("A missing chain-rule factor: the inner function's derivative.", "sin(x**2)", None, {},
                answer="cos(x**2)"),
          Entry("A missing matrix factor: least squares without Aᵀ.", "sum((A@x - b)**2)", "x",
                {"A": "m,n", "x": "n", "b": "m"}, answer="2*(A@x - b)"),
          Entry("The wrong shape: a gradient is shaped like its variable.", "sum(W@x)", "W",
                {"W": "m,n", "x": "n"}, answer="x"),
          Entry("`*` written for `@`: element-wise where a matrix product is meant.", "sum(tanh(W@x))", "x",
                {"W": "m,n", "x": "n"}, answer="W.T*(1 - tanh(W@x)**2)"),
          Entry("A right answer in another form: accepted.", "sum((A@x - b)**2)", "x",
                {"A": "m,n", "x": "n", "b": "m"}, answer="2*A.T@(A@x - b)"))),
)

SVG_EXAMPLE = Entry("", "sin(x**2)")


def page_text(page: Page) -> str:
    from matcalc_sym import derive

    parts = [f"# {page.title}\n", page.introduction + "\n",
             "*Generated by `python docs/build.py`; do not edit by hand.*\n"]
    for entry in page.entries:
        rules = [ROOT / r for r in entry.rules]
        options = {entry.second: True} if entry.second else {}
        if entry.answer is not None:
            options["answer"] = entry.answer
        derivation = derive(entry.text, entry.wrt, shapes=entry.shapes, rules=rules, **options)
        shapes = ", ".join(f"`{k}`: {v}" for k, v in entry.shapes.items())
        answer = f" Your answer: `{entry.answer}`." if entry.answer is not None else ""
        parts.append(f"---\n\n{entry.sentence}" + (f" Shapes: {shapes}." if shapes else "") + answer + "\n")
        parts.append(_demote(derivation.to_markdown()))
    return "\n".join(parts).rstrip("\n") + "\n"


def _demote(markdown: str) -> str:
    """Headings one level down, so each page has a single top-level title."""
    return "\n".join("#" + line if line.startswith("#") else line for line in markdown.splitlines()) + "\n"


def index_text() -> str:
    lines = ["# Gallery\n", "Every worked example of the source documents (pages 1–6), then the operations of "
             "deep learning, second derivatives and checked answers, derived and rendered by matcalc-sym. "
             "The pages are generated by `python docs/build.py` and a test keeps them current.\n"]
    for page in PAGES:
        lines.append(f"- [{page.title}]({page.filename}): {len(page.entries)} derivations")
    return "\n".join(lines) + "\n"


def terminal_svg() -> str:
    """The README's picture: the derivation of sin(x**2) as the terminal shows it."""
    from rich.console import Console

    from matcalc_sym import derive

    console = Console(record=True, width=90, file=io.StringIO(), color_system="truecolor", force_terminal=True)
    console.print(derive(SVG_EXAMPLE.text))
    return console.export_svg(title="derive \"sin(x**2)\"")


#: the web page's gallery (`derive serve`), relative to docs/: the package cannot read docs/ or tests/
WEB_GALLERY = "../matcalc_sym/web/gallery.json"


def web_gallery() -> str:
    """Every entry the page can derive, with its answer to check and its second derivative (those
    needing a rules file are left out: the server takes no rules files, which are paths on it)."""
    import json

    entries = [{"page": page.title, "sentence": e.sentence, "text": e.text, "wrt": e.wrt, "shapes": dict(e.shapes),
                "answer": e.answer, "second": e.second}
               for page in PAGES for e in page.entries if not e.rules]
    return json.dumps(entries, ensure_ascii=False, indent=1) + "\n"


def outputs() -> dict[str, str]:
    files = {page.filename: page_text(page) for page in PAGES}
    files["index.md"] = index_text()
    files["terminal-sin.svg"] = terminal_svg()
    files[WEB_GALLERY] = web_gallery()
    return files


def main() -> int:
    for name, text in outputs().items():
        (DOCS / name).write_text(text, encoding="utf-8")
        print(f"wrote {(DOCS / name).resolve().relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
