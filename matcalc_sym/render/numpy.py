"""Code export: a derivation as a self-contained NumPy module.

`to_numpy(derivation)` writes `f_and_grad(**inputs)` (the value and the
derivative, with shape assertions on the inputs) and `check_gradient()`
(central finite differences on random inputs of the declared shapes). The
printer is SymPy's NumPy printer with one method per class of ours; an
element-wise body prints as NumPy's own broadcasting arithmetic, so no
generalized Jacobian is ever built.

Whoever imports the module runs it, so nothing the user typed is copied into
it as text, where a comment holding `\"\"\"` could end a docstring and
start code:

- names enter only as identifiers matching `[A-Za-z][A-Za-z0-9_]*`, made
  distinct from one another (`_Names`);
- the input text is kept base64-encoded in `SOURCE_BASE64` (an alphabet
  that cannot end a string), and the docstring shows the parsed expression
  restricted to characters without quotes, backslashes or `#` (`_inert`);
- everything `f_and_grad` uses besides the user's names starts with `_`
  (`_np`, `_math`, `_value`, temporaries `_t1`), which no name of the input
  language does, so a variable called `numpy`, `value` or `float` cannot
  shadow it;
- the finished module is parsed and its structure checked (`_verify`).

Python cannot compile arbitrarily deep or long expressions (more than 200
nested parentheses, or a chain of a few thousand `+`), so long sums and
products fold with `functools.reduce` and deep subexpressions are assigned
to temporaries.
"""

from __future__ import annotations

import ast
import base64
import functools
import keyword
import math
import re

import sympy
from sympy.logic.boolalg import Boolean
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.str import StrPrinter

from ..adjoint import AdjointMatrix, AdjointScalar
from ..arrays import is_array
from ..errors import DeriveError, InternalError
from ..operations import of
from ..reference_code import HELPERS
from .printable import PrintsEachOnce, str_matmul

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
#: how the module imports what `f_and_grad` uses: names no input can shadow
_MODULE_ALIASES = {"numpy": "_np", "math": "_math", "functools": "_functools", "operator": "_operator"}
#: sums and products with more terms than this fold with functools.reduce (one flat list for the compiler)
_CHAIN = 16
#: a subexpression nested deeper than this is assigned to a temporary (Python's parser stops at 200 parentheses)
_HOIST_HEIGHT = 16
#: characters the docstring may show of the expression: no quote, backslash or `#`
_NOT_INERT = re.compile(r"[^A-Za-z0-9_ +\-*/().,@<>=\[\]]")
_DOC_EXPRESSION_CHARS = 300


def _shared_subexpressions(expr) -> set[int]:
    """Ids of the compound subexpressions `expr` reaches along more than one path.

    A long derivation's result is a graph: the adjoint of a node feeds each
    of its children, so the tree printed in full repeated the same
    subexpressions about ten times (a 3200-node case wrote 31 608 nodes for
    2 496 distinct ones, and the module took longer to write and to check
    than the derivation). Counted by identity, iteratively (the graph may be
    deeper than Python's recursion limit).
    """
    seen: dict[int, list] = {}
    pending = [expr]
    while pending:
        node = pending.pop()
        entry = seen.get(id(node))
        if entry is not None:
            entry[1] += 1
            continue
        seen[id(node)] = [node, 1]
        pending.extend(node.args)
    return {key for key, (node, count) in seen.items() if count > 1 and node.args}


def identifier(name: str) -> str:
    """A Python identifier spelled like `name` (dJ/dc → dJ_dc); unique names come from `_Names`."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(name)).lstrip("_")
    if not text or not text[0].isalpha():
        text = "v" + text
    return text + "_" if keyword.iskeyword(text) else text


class _Names:
    """The Python name of each input, dimension and named intermediate: valid and distinct.

    Two spellings can meet in one identifier (a variable `dJ_dc` and the
    upstream gradient `dJ/dc`, a variable and a dimension both called `n`);
    the first registered keeps the name, later ones get a suffix.
    """

    def __init__(self) -> None:
        self._by_key: dict = {}
        self._taken: set[str] = set()

    def add(self, key, spelling: str) -> str:
        if key in self._by_key:
            return self._by_key[key]
        base = identifier(spelling)
        name, suffix = base, 2
        while name in self._taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        self._taken.add(name)
        self._by_key[key] = name
        return name

    def of(self, key) -> str | None:
        return self._by_key.get(key)


class _Printer(NumPyPrinter):
    """NumPy code for the package's expression classes, with module names no input can shadow."""

    def __init__(self, names: _Names, long: bool = False) -> None:
        # a long derivation's sums keep their build order, as in its LaTeX and JSON (sorting them was
        # most of the export of 3200 nodes)
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False,
                          "strict": False, **({"order": "none"} if long else {})})
        self._names = names
        self._long = long
        self._temporaries: list[str] = []
        self._heights: list[int] = []
        self._count = 0
        self._shared: set[int] = set()  # ids of subexpressions the expression being printed holds more than once
        self._assigned: dict[int, tuple] = {}  # id → (subexpression, the temporary holding its value)

    # -- names --------------------------------------------------------------

    def _module_format(self, fqn, register=True):
        """numpy.sin → _np.sin; math.erf (scalars only) → an element-wise NumPy version."""
        head, _, rest = fqn.partition(".")
        if head == "math" and callable(getattr(math, rest, None)):
            return f"_np.vectorize(_math.{rest}, otypes=[_np.float64])"
        if head in _MODULE_ALIASES and rest:
            fqn = f"{_MODULE_ALIASES[head]}.{rest}"
        return super()._module_format(fqn, register)

    def _np(self, name: str) -> str:
        return self._module_format(f"numpy.{name}")

    def _print_Symbol(self, expr):
        name = self._names.of(expr) or self._names.of(expr.name)
        if name is None:
            raise DeriveError(f"cannot export to NumPy: {expr.name!r} is neither an input nor a dimension")
        return name

    def _print_MatrixSymbol(self, expr):
        return self._print_Symbol(expr)

    # -- depth and length: what Python's compiler accepts ---------------------

    def code(self, expr) -> tuple[list[str], str]:
        """(lines assigning temporaries, the expression's code); refuses what NumPy cannot compute."""
        self._not_supported = set()
        self._number_symbols = set()
        self._temporaries = []
        self._shared = _shared_subexpressions(expr) if self._long else set()
        self._assigned = {}
        text = self._print(expr)
        if self._not_supported:
            names = sorted({type(e).__name__ for e in self._not_supported})
            raise DeriveError(f"cannot export to NumPy: no NumPy counterpart for {', '.join(names)}")
        return self._temporaries, text

    def _print(self, expr, **kwargs):
        """Printed bottom-up; a subexpression that nests too deep becomes a temporary `_tN`, and so
        does one a long derivation's result holds in several places (computed once, named after)."""
        assigned = self._assigned.get(id(expr)) if not kwargs else None
        if assigned is not None and assigned[0] is expr:
            if self._heights:
                self._heights[-1] = max(self._heights[-1], 1)
            return assigned[1]
        self._heights.append(0)
        try:
            declared = of(expr)
            if declared is not None and declared.code is not None:  # matcalc_sym.operations writes it
                text = declared.code([self._print(a) for a in declared.operands(expr)], expr, self._np)
            else:
                text = super()._print(expr, **kwargs)
        finally:
            height = self._heights.pop() + 1
        if ((height > _HOIST_HEIGHT or id(expr) in self._shared) and not kwargs
                and isinstance(expr, (sympy.Expr, Boolean)) and expr.args):
            self._count += 1
            self._temporaries.append(f"_t{self._count} = {text}")
            text, height = f"_t{self._count}", 1
            if id(expr) in self._shared:
                self._assigned[id(expr)] = (expr, text)
        if self._heights:
            self._heights[-1] = max(self._heights[-1], height)
        return text

    def _fold(self, operator: str, args) -> str:
        items = ", ".join(self._print(a) for a in args)
        return f"{self._module_format('functools.reduce')}({self._module_format('operator.' + operator)}, [{items}])"

    def _print_Add(self, expr, order=None):
        return self._fold("add", expr.args) if len(expr.args) > _CHAIN else super()._print_Add(expr, order)

    def _print_Mul(self, expr):
        if len(expr.args) > _CHAIN and expr.is_commutative:
            return self._fold("mul", expr.args)
        return super()._print_Mul(expr)

    # -- the package's classes ----------------------------------------------

    def _print_Elem(self, expr):
        return f"({self._print(expr.array)})"

    def _print_Elementwise(self, expr):
        rows, cols = (self._print(d) for d in expr.shape)
        return f"{self._np('broadcast_to')}({self._print(expr.body)}, ({rows}, {cols}))"

    def _print_OneMatrix(self, expr):
        rows, cols = (self._print(d) for d in expr.shape)
        return f"{self._np('ones')}(({rows}, {cols}))"

    def _print_ZeroMatrix(self, expr):
        rows, cols = (self._print(d) for d in expr.shape)
        return f"{self._np('zeros')}(({rows}, {cols}))"

    def _print_Identity(self, expr):
        return f"{self._np('eye')}({self._print(expr.shape[0])})"

    def _print_Transpose(self, expr):
        return f"({self._print(expr.arg)}).T"

    def _print_MatMul(self, expr):
        scalars = [a for a in expr.args if not is_array(a)]
        arrays = [a for a in expr.args if is_array(a)]
        if len(arrays) > _CHAIN:
            product = self._fold("matmul", arrays)
        else:
            product = "(" + " @ ".join(f"({self._print(a)})" for a in arrays) + ")"
        if scalars:
            return f"({self._print(sympy.Mul(*scalars))}) * {product}"
        return product

    def _print_MatAdd(self, expr):
        if len(expr.args) > _CHAIN:
            return self._fold("add", expr.args)
        return "(" + " + ".join(f"({self._print(a)})" for a in expr.args) + ")"

    def _print_BlockMatrix(self, expr):
        rows = ", ".join("[" + ", ".join(self._print(b) for b in row) + "]" for row in expr.blocks.tolist())
        return f"{self._np('block')}([{rows}])"

    def _print_ImmutableDenseMatrix(self, expr):
        rows = ", ".join("[" + ", ".join(self._print(e) for e in row) + "]" for row in expr.tolist())
        return f"{self._np('array')}([{rows}], dtype={self._np('float64')})"

    def _print_Piecewise(self, expr):
        if any(is_array(value) for value, _ in expr.args):
            text = self._print(expr.args[-1][0])
            for value, condition in reversed(expr.args[:-1]):
                text = f"(({self._print(value)}) if ({self._print(condition)}) else ({text}))"
            return text
        return super()._print_Piecewise(expr)

    def _print_And(self, expr):
        return self._pairwise("numpy.logical_and", expr.args)

    def _print_Or(self, expr):
        return self._pairwise("numpy.logical_or", expr.args)

    def _pairwise(self, function: str, args) -> str:
        """Conditions joined two at a time, which broadcasts: a mask zᵢ > 0 and a scalar s > 0 meet per entry.

        SymPy writes `logical_and.reduce((a, b))`, which stacks its operands
        into one array first and fails when their shapes differ.
        """
        text = self._print(args[-1])
        for arg in reversed(args[:-1]):
            text = f"{function}({self._print(arg)}, {text})"
        return text

    def _print_sigmoid(self, expr):
        return f"(1/(1 + {self._np('exp')}(-({self._print(expr.args[0])}))))"


def _ready(expr):
    """What the printer gets: rules-file functions written out through their definitions."""
    from ..userfunctions import expand_user_functions

    return expand_user_functions(expr) if isinstance(expr, sympy.Basic) else expr


def _inputs(derivation) -> list[tuple[str, sympy.Basic | None]]:
    """The arguments of f_and_grad: every free input, and every wrt even when the output ignores it."""
    inputs = [(name, symbol) for name, symbol in derivation.symbols.items() if name not in derivation.definitions]
    known = {name for name, _ in inputs}
    return inputs + [(name, None) for name in derivation.wrt if name not in known]


def _declared(symbol, name: str, derivation) -> tuple:
    """NumPy shape of an input as declared ((n,) a 1-D vector, (n, 1) a column); an upstream gradient
    has the output's shape."""
    from ..shapes import dimension

    if name in derivation.declared_shapes:
        return tuple(dimension(d) for d in derivation.declared_shapes[name])
    if isinstance(symbol, AdjointMatrix) and derivation.output_shape:
        return tuple(_product_of_dimensions(d) for d in derivation.output_shape)
    if symbol is None or not is_array(symbol):
        return ()
    return tuple(symbol.shape)


def _product_of_dimensions(text: str):
    """A dimension as `str` wrote it: n, 3, or a product of them (m*n, n**2, 2*n) for kron's shapes."""
    from ..shapes import dimension

    factors = []
    for factor in text.replace("**", "^").split("*"):
        base, _, exponent = factor.partition("^")
        factors.append(dimension(base) ** int(exponent or 1))
    return sympy.Mul(*factors)


def _inert(text: str, limit: int = _DOC_EXPRESSION_CHARS) -> str:
    """Text that can sit in a docstring whatever it was: no quote, backslash, `#` or line break."""
    text = _NOT_INERT.sub("?", " ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def _quoted(name: str) -> str:
    """A Python string literal of an identifier (checked, so no repr of user text is needed)."""
    if not _IDENTIFIER.match(name):
        raise InternalError(f"code export: {name!r} is not an identifier")
    return f"'{name}'"


def _source_lines(source: str) -> list[str]:
    """The input text, base64-encoded in 72-character lines: kept for reference, never as text."""
    encoded = base64.b64encode(source.encode("utf-8")).decode("ascii")
    chunks = [encoded[i : i + 72] for i in range(0, len(encoded), 72)] or [""]
    return ["SOURCE_BASE64 = (", *[f'    "{chunk}"' for chunk in chunks], ")"]


class _OneLine(PrintsEachOnce, StrPrinter):
    """`sstr`, each distinct subexpression once and matrix products' signs read cheaply (a deep input
    repeats its layers)."""

    def _print_MatMul(self, expr):
        return str_matmul(self, expr)


def _docstring(derivation, names: _Names) -> list[str]:
    expression = _OneLine({"order": "none"}).doprint(derivation.expression)
    wrt = ", ".join(names.of(name) or identifier(name) for name in derivation.wrt)
    return [
        f'"""Generated by matcalc-sym: the value and the derivative by {wrt} of',
        "",
        f"    {identifier(derivation.output)} = {_inert(expression)}",
        "",
        f"Layout: {derivation.layout}. Call f_and_grad(**inputs) for the value and the derivative;",
        "check_gradient() compares it with central finite differences on random inputs.",
        "The input as typed is base64-encoded in SOURCE_BASE64 (not copied as text, so that",
        'nothing in it can become code when this module is imported)."""',
    ]


def _shape_lines(var: str, shape: tuple, names: _Names, dims_seen: set) -> list[str]:
    """Convert one input and assert its declared shape; the first sighting of a dimension names it."""
    if not shape:
        return [f"    {var} = _np.float64({var})"]
    lines = [f"    {var} = _np.asarray({var}, dtype=_np.float64)",
             f"    assert {var}.ndim == {len(shape)}, '{var} must have {len(shape)} dimension(s)'"]
    for axis, dim in enumerate(shape):
        if not isinstance(dim, (sympy.Symbol, sympy.Integer)):  # a product of dimensions (kron's m·n)
            factors = _factors(dim)
            if all(f.isdigit() or sympy.Symbol(f, integer=True, positive=True) in dims_seen for f in factors):
                size = " * ".join(f if f.isdigit() else names.of(sympy.Symbol(f, integer=True, positive=True))
                                  for f in factors)
                lines.append(f"    assert {var}.shape[{axis}] == {size}, '{var}: axis {axis} must be {size}'")
        elif isinstance(dim, sympy.Symbol):
            dim_name = names.add(dim, dim.name)
            if dim not in dims_seen:
                dims_seen.add(dim)
                lines.append(f"    {dim_name} = {var}.shape[{axis}]")
            else:
                lines.append(f"    assert {var}.shape[{axis}] == {dim_name}, '{var}: axis {axis} must be {dim_name}'")
        else:
            lines.append(f"    assert {var}.shape[{axis}] == {int(dim)}, '{var}: axis {axis} must be {int(dim)}'")
    return lines


def _reference_lines(derivation, names: _Names, shapes: dict) -> list[str]:
    """`_value` computed from the input text as NumPy reads it (`reference_code`), not from the
    package's translation: `check_gradient()` differentiates this, so it checks the translation too."""
    from ..reference import ReferenceError, statements
    from ..reference_code import numpy_statements

    dims = {d.name: names.of(d) for shape in shapes.values() for d in shape if isinstance(d, sympy.Symbol)}
    assigned = {target: f"_r_{target}" for target, _ in statements(derivation.source) if target is not None}
    inputs = {name for name in shapes}

    def name_of(name: str) -> str:
        found = assigned.get(name) or (names.of(name) if name in inputs else None) or dims.get(name)
        if found is None or not _IDENTIFIER.match(found.lstrip("_")):
            raise DeriveError(f"code export: {name!r} has no value inside f_and_grad (a dimension of an "
                              "array the expression does not use?)")
        return found

    try:
        code = numpy_statements(derivation.source, name_of, functions=derivation.user_functions,
                                aliases=derivation.user_aliases)
    except ReferenceError as exc:
        raise DeriveError(f"code export: {exc}") from None
    lines = [f"    {target if target is not None else '_value'} = {text}" for target, text in code]
    if code[-1][0] is not None:
        lines.append(f"    _value = {code[-1][0]}")
    return lines


def _column_lines(names: _Names, shapes: dict) -> list[str]:
    """The derivative's code reads every 1-D vector as an n×1 column, as the paper writes vectors."""
    return [f"    {names.of(name)} = {names.of(name)}.reshape(-1, 1)" for name, shape in shapes.items()
            if len(shape) == 1]


def _assign(printer: _Printer, target: str, expr) -> list[str]:
    temporaries, text = printer.code(_ready(expr))
    return [f"    {line}" for line in temporaries] + [f"    {target} = {text}"]


def _definition_lines(printer: _Printer, derivation, names: _Names) -> list[str]:
    """Each named result assigned in terms of the ones before it (h2 = tanh(W2 @ h1)).

    A definition is stored written out in the inputs, so a deep network's
    hₖ repeats h₁ … hₖ₋₁: written as stored, the module grew as the square
    of the depth, and so did printing and checking it.
    """
    from ..arrays import element_of

    earlier: dict = {}
    lines: list[str] = []
    for name, definition in derivation.definitions.items():
        lines += _assign(printer, names.of(name), definition.xreplace(earlier) if earlier else definition)
        symbol = derivation.symbols.get(name)
        if symbol is None or definition.is_Atom or isinstance(definition, sympy.MatrixSymbol):
            continue
        earlier[definition] = symbol
        if is_array(definition) and is_array(symbol):
            earlier[element_of(definition)] = element_of(symbol)
    return lines


def to_numpy(derivation) -> str:
    """A self-contained Python module computing the value and derivative with NumPy.

    For a second derivative, f_and_grad is its stage 1 (the value and the
    gradient) and the module gains hessian(...) or hvp(...) and a check of
    its own against second differences of the value (`_CHECK_SECOND`).
    """
    second, derivation = derivation, (derivation.second.stage1 if derivation.second is not None else derivation)
    second = second if second is not derivation else None
    names = _Names()
    inputs = _inputs(derivation)
    shapes = {name: _declared(symbol, name, derivation) for name, symbol in inputs}
    for name, _ in sorted(inputs, key=lambda item: not _IDENTIFIER.match(item[0])):  # the user's own spellings first
        names.add(name, name)
    for shape in shapes.values():
        for dim in shape:
            if isinstance(dim, sympy.Symbol):
                names.add(dim, dim.name)
    for name in derivation.definitions:
        names.add(name, name)
    from .terminal import COMPACT_STEPS

    printer = _Printer(names, long=len(derivation.steps) > COMPACT_STEPS)
    upstream = next((names.of(n) for n, s in inputs if isinstance(s, (AdjointMatrix, AdjointScalar))), None)
    layout = derivation.layout if derivation.layout in ("numerator", "denominator") else "numerator"
    lines = [
        *_docstring(derivation, names),
        "",
        "import functools as _functools  # noqa: F401 - used by NumPy's printing of case splits and long sums",
        "import math as _math  # noqa: F401 - erf and gamma, made element-wise with numpy.vectorize",
        "import operator as _operator  # noqa: F401 - long sums and products",
        "",
        "import numpy",
        "import numpy as _np",
        "",
        *_source_lines(derivation.source),
        "",
        "",
        _HELPERS_MARK,
        "",
        "",
        f"SHAPES = {{{', '.join(_shape_entry(names, name, shapes[name]) for name, _ in inputs)}}}",
        f"WRT = [{', '.join(_quoted(names.of(name)) for name in derivation.wrt)}]",
        f"LAYOUT = {_quoted(layout)}",
        f"UPSTREAM = {_quoted(upstream) if upstream else None}",
        "",
        "",
        f"def f_and_grad(*, {', '.join(names.of(n) for n, _ in inputs)}):",
        '    """The value and the derivative(s); array inputs are checked against their declared shapes."""',
    ]
    dims_seen: set = set()
    for name, _ in inputs:
        lines += _shape_lines(names.of(name), shapes[name], names, dims_seen)
    lines += _reference_lines(derivation, names, shapes)
    lines += _column_lines(names, shapes)
    lines += _definition_lines(printer, derivation, names)
    lines += _derivative_lines(printer, derivation, names)
    if second is not None:
        lines += _second_lines(printer, second, names, shapes, inputs)
    lines += ["", "", _CHECK_MARK]
    if second is not None:
        lines += ["", "", _CHECK_SECOND]
    # the fixed parts are verified once per process; what this derivation wrote, every time
    _verify("\n".join(line for line in lines if line not in (_HELPERS_MARK, _CHECK_MARK)) + "\n")
    _verify_fixed(HELPERS)
    _verify_fixed(_CHECK)
    fixed = {_HELPERS_MARK: HELPERS.rstrip("\n"), _CHECK_MARK: _CHECK}
    return "\n".join(fixed.get(line, line) for line in lines) + "\n"


def _second_lines(printer: _Printer, derivation, names: _Names, shapes: dict, inputs: list) -> list[str]:
    """hessian(**inputs), or hvp(**inputs, V=...): the second derivative from its derivation."""
    second = derivation.second
    arguments = [names.of(n) for n, _ in inputs]
    extra: dict = {}
    if second.direction is not None:
        extra[second.direction] = shapes[derivation.wrt[0]]
        arguments.append(names.add(second.direction, second.direction))
    function = "hvp" if second.direction is not None else "hessian"
    what = ("the Hessian-vector product along the direction " + names.of(second.direction)
            if second.direction is not None else "the Hessian (row i, column j: d2f/dxi dxj, variables in WRT order)")
    lines = ["", "", f"DIRECTION = {_quoted(names.of(second.direction)) if second.direction else None}", "", "",
             f"def {function}(*, {', '.join(arguments)}):", f'    """{what}."""']
    dims_seen: set = set()
    for name, _ in [*inputs, *((d, None) for d in extra)]:
        lines += _shape_lines(names.of(name), {**shapes, **extra}[name], names, dims_seen)
    lines += _column_lines(names, {**shapes, **extra})
    lines += _assign(printer, "_second", derivation.result)
    return [*lines, "    return _np.asarray(_second, dtype=_np.float64)"]


def _shape_entry(names: _Names, name: str, shape: tuple) -> str:
    dims = [_quoted(names.of(d)) if isinstance(d, sympy.Symbol) else f"'{int(d)}'" if d.is_Integer
            else "'" + "*".join(f if f.isdigit() else names.of(sympy.Symbol(f, integer=True, positive=True))
                                for f in _factors(d)) + "'" for d in shape]
    return f"{_quoted(names.of(name))}: ({', '.join(dims)}{',' if len(dims) == 1 else ''})"


def _factors(dim) -> list[str]:
    """A product of dimensions (kron's m·n, n², 2n) as its factors: whole numbers and dimension names."""
    factors = []
    for factor in sympy.Mul.make_args(dim):
        base, exponent = factor.as_base_exp()
        if not (base.is_Integer or isinstance(base, sympy.Symbol)) or not exponent.is_Integer or exponent < 1:
            raise DeriveError(f"cannot export to NumPy: the dimension {dim} is not a product of dimensions")
        factors += [str(int(base)) if base.is_Integer else base.name] * int(exponent)
    return factors


def _derivative_lines(printer: _Printer, derivation, names: _Names) -> list[str]:
    gradients = dict(derivation.gradients)
    if not gradients and len(derivation.wrt) == 1:
        gradients = {derivation.wrt[0]: derivation.result}
    if not gradients:
        return [*_assign(printer, "_derivative", derivation.result), "    return _value, _derivative"]
    lines = []
    for index, gradient in enumerate(gradients.values()):
        temporaries, text = printer.code(_ready(gradient))
        lines += [f"    {line}" for line in temporaries]
        lines.append(f"    _d{index} = _np.asarray({text}, dtype=_np.float64)")
    if len(gradients) == 1:
        return [*lines, "    return _value, _d0"]
    items = ", ".join(f"{_quoted(names.of(name))}: _d{index}" for index, name in enumerate(gradients))
    return [*lines, f"    return _value, {{{items}}}"]


#: what the module's top level may hold: its docstring, imports of these, these constants, functions, the main guard
_TOP_IMPORTS = {"numpy", "math", "functools", "operator"}
_TOP_CONSTANTS = {"SOURCE_BASE64", "SHAPES", "WRT", "LAYOUT", "UPSTREAM", "DIRECTION"}


#: where the fixed helper and check code go in a module: lines no generated line can equal (a NUL)
_HELPERS_MARK = "\0helpers"
_CHECK_MARK = "\0check"


@functools.cache
def _verify_fixed(code: str) -> None:
    """The package's own fixed code (helpers, the gradient check), verified like the rest, once.

    Each part of a module parses on its own as whole statements, so the
    module is exactly their statements together; parsing and walking the
    fixed parts was most of the time of exporting a small derivation.
    """
    _verify(code, docstring_first=False)


def _verify(code: str, docstring_first: bool = True) -> None:
    """The module holds only what `to_numpy` writes: a last line of defence against text turned into code."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, RecursionError, MemoryError) as exc:
        raise InternalError(f"code export produced a module Python cannot read ({type(exc).__name__})") from None
    for number, node in enumerate(tree.body):
        ok = (
            (number == 0 and docstring_first and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            or (isinstance(node, ast.Import) and all(a.name in _TOP_IMPORTS for a in node.names))
            or (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id in _TOP_CONSTANTS
                                                     for t in node.targets))
            or isinstance(node, ast.FunctionDef)
            or (isinstance(node, ast.If) and ast.unparse(node.test) == "__name__ == '__main__'")
        )
        if not ok:
            raise InternalError(f"code export: unexpected top-level statement at line {node.lineno}")
    for node in ast.walk(tree):
        if isinstance(node, (ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Lambda)) or (
                isinstance(node, ast.Import) and node not in tree.body):
            raise InternalError(f"code export: unexpected {type(node).__name__} at line {node.lineno}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            raise InternalError(f"code export: unexpected attribute at line {node.lineno}")


_CHECK = '''def _random_inputs(rng, size):
    inputs = {}
    for name, shape in SHAPES.items():
        dims = tuple(int(numpy.prod([size if not f.isdigit() else int(f) for f in d.split("*")])) for d in shape)
        if len(dims) == 2 and dims[0] == dims[1]:
            # square: strictly diagonally dominant, so invertible with a positive determinant, and not
            # symmetric, so a derivative transposed by mistake cannot pass
            inputs[name] = rng.uniform(-1.0, 1.0, size=dims) + (dims[0] + 1) * numpy.eye(dims[0])
        elif dims:
            inputs[name] = rng.uniform(0.2, 1.0, size=dims) * rng.choice([-1, 1], size=dims)
        else:
            inputs[name] = float(rng.uniform(0.2, 1.0))
    return inputs


def _numeric_jacobian(inputs, name, eps):
    """Rows: entries of the value; columns: entries of the variable `name`."""
    base = numpy.asarray(inputs[name], dtype=float)
    flat = base.ravel()
    columns = []
    for i in range(flat.size):
        shifted = []
        for sign in (1, -1):
            moved = flat.copy()
            moved[i] += sign * eps
            trial = dict(inputs, **{name: moved.reshape(base.shape) if base.ndim else float(moved[0])})
            shifted.append(numpy.ravel(numpy.asarray(f_and_grad(**trial)[0], dtype=float)))
        columns.append((shifted[0] - shifted[1]) / (2 * eps))
    return numpy.stack(columns, axis=1)


def _expected(jacobian, inputs, name):
    """What the derivative by one variable should be, in LAYOUT, from its numeric Jacobian."""
    base = numpy.asarray(inputs[name], dtype=float)
    if UPSTREAM is not None:  # the vector-Jacobian product for J = sum(upstream * value)
        product = (numpy.ravel(numpy.asarray(inputs[UPSTREAM])) @ jacobian).reshape(base.shape)
        return product if LAYOUT == "denominator" else numpy.transpose(product)
    if jacobian.shape[0] == 1:  # a scalar value: its gradient
        gradient = jacobian.reshape(base.shape if base.ndim else ())
        if LAYOUT == "numerator":
            return gradient.reshape(1, -1) if base.ndim == 1 else numpy.transpose(gradient)
        return gradient.reshape(-1, 1) if base.ndim == 1 else gradient
    return jacobian if LAYOUT == "numerator" else jacobian.T


def check_gradient(seed=0, size=3, eps=1e-6, tolerance=1e-5):
    """The largest relative difference from central finite differences; raises if over `tolerance`."""
    rng = numpy.random.default_rng(seed)
    inputs = _random_inputs(rng, size)
    value, derivative = f_and_grad(**inputs)
    jacobians = {name: _numeric_jacobian(inputs, name, eps) for name in WRT}
    if isinstance(derivative, dict) or len(WRT) == 1:
        derivatives = derivative if isinstance(derivative, dict) else {WRT[0]: derivative}
        pairs = [(numpy.asarray(derivatives[name], dtype=float), _expected(jacobians[name], inputs, name))
                 for name in WRT]
    else:  # several scalar variables: one gradient row or Jacobian over all of them
        combined = numpy.concatenate([jacobians[name] for name in WRT], axis=1)
        got = numpy.asarray(derivative, dtype=float)
        pairs = [(got, combined if LAYOUT == "numerator" else combined.T)]
    worst = 0.0
    for got, expected in pairs:
        expected = numpy.reshape(expected, got.shape)
        scale = max(1.0, float(numpy.max(numpy.abs(expected))))
        worst = max(worst, float(numpy.max(numpy.abs(got - expected))) / scale)
    if worst > tolerance:
        raise AssertionError(f"gradient check failed: largest relative difference {worst:.3g}")
    return worst


if __name__ == "__main__":
    print(f"check_gradient: largest relative difference {check_gradient():.3g}")
'''


#: a second derivative's own check: second differences of the value f_and_grad computes from the text
_CHECK_SECOND = '''def _moved(inputs, move, amount):
    """The inputs moved by `amount` along one entry (name, index) or along a direction (name, array)."""
    name, where = move
    base = numpy.array(inputs[name], dtype=float)
    if not isinstance(where, int):
        return dict(inputs, **{name: base + amount * where})
    if base.ndim == 0:
        return dict(inputs, **{name: float(base) + amount})
    base.reshape(-1)[where] += amount
    return dict(inputs, **{name: base})


def _mixed_difference(inputs, move_a, move_b, eps):
    """d2 value / da db by central differences: (f(++) - f(+-) - f(-+) + f(--)) / 4 eps**2."""
    total = 0.0
    for sa, sb, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
        moved = _moved(_moved(inputs, move_a, sa * eps), move_b, sb * eps)
        total += sign * float(numpy.asarray(f_and_grad(**moved)[0]))
    return total / (4 * eps * eps)


def check_second(seed=0, size=3, eps=1e-4, tolerance=1e-4):
    """The Hessian (or HVP) against second differences of the value; raises if over `tolerance`."""
    rng = numpy.random.default_rng(seed)
    inputs = _random_inputs(rng, size)
    entries = [(name, i) for name in WRT for i in range(numpy.asarray(inputs[name]).size)]
    if DIRECTION is None:
        got = numpy.asarray(hessian(**inputs), dtype=float).ravel()
        expected = numpy.array([_mixed_difference(inputs, a, b, eps) for a in entries for b in entries])
    else:
        direction = rng.uniform(-1.0, 1.0, size=numpy.shape(inputs[WRT[0]]))
        got = numpy.asarray(hvp(**inputs, **{DIRECTION: direction}), dtype=float).ravel()
        expected = numpy.array([_mixed_difference(inputs, a, (WRT[0], direction), eps) for a in entries])
    scale = max(1.0, float(numpy.max(numpy.abs(expected))))
    worst = float(numpy.max(numpy.abs(got - expected))) / scale
    if worst > tolerance:
        raise AssertionError(f"second-derivative check failed: largest relative difference {worst:.3g}")
    return worst


def check_hessian(seed=0, size=3, eps=1e-4, tolerance=1e-4):
    """check_second, by the name of what it checks."""
    return check_second(seed, size, eps, tolerance)


def check_hvp(seed=0, size=3, eps=1e-4, tolerance=1e-4):
    """check_second, by the name of what it checks."""
    return check_second(seed, size, eps, tolerance)


if __name__ == "__main__":
    print(f"check_second: largest relative difference {check_second():.3g}")
'''
