"""Text to expression graph, without ever running the text as Python.

Python's `ast` module reads the syntax (it only parses; nothing executes) and
each node is translated through a whitelist: numbers, names, the arithmetic
operators, `@`, `.T`, calls of functions listed in the rules tables, bracketed
lists, indexing with literal integers and slices (X[0], X[:, 1:3]), einsum's
subscripts string (the only string literal, held to a strict pattern), and
`name = expr` statements. Everything else is a `ParseError` that
carries the column. Sizes are bounded (see `limits`) before SymPy sees a
number, because SymPy can hang while merely building some constants.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import math
import re
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import sympy

from . import limits, shapes
from .errors import ParseError, ShapeError
from .expr import GraphBuilder, Node, nesting_depth
from .operations import einsum, indexing
from .ruletable import SLOTS, RuleTable, default_table
from .shapes import SCALAR, Shape
from .symbolic import COMPARISONS, build

CONSTANTS = {"pi": sympy.pi, "E": sympy.E}
#: 1-D @ 1-D is the dot product, which the paper writes as a sum of an element-wise product
DOT_DEFINITION = "sum(u*v)"
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow", ast.MatMult: "matmul"}
_UNARY = {ast.USub: "neg"}
_COMPARE = {ast.Gt: "gt", ast.GtE: "ge", ast.Lt: "lt", ast.LtE: "le"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
#: a decimal literal as Python spells it (underscores removed): 1.5, .5, 1., 1e-3, 2.5E+10
_DECIMAL = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?(?:[eE](?P<exponent>[+-]?[0-9]+))?")
_LOG10_2 = math.log10(2)
INDEXING_NOTE = ("indexing is matrix algebra: x[i] = e_i.T x, X[i] = X.T e_i (row i, as a column), X[:, j] = X e_j, "
                 "X[a:b] = S X with S rows a:b of the identity; e_k has its 1 at NumPy index k (from 0; e_-1 is "
                 "the last)")
_SYNTAX_NAMES = {
    ast.Lambda: "lambda", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings", ast.NamedExpr: "':=' (walrus)", ast.Subscript: "indexing",
    ast.Starred: "starred arguments", ast.Import: "import", ast.ImportFrom: "import",
    ast.Await: "await", ast.Yield: "yield", ast.IfExp: "conditional expressions (use where)",
    ast.BoolOp: "and/or (use where with a comparison)", ast.Dict: "dictionaries",
    ast.Set: "sets", ast.Tuple: "tuples", ast.Slice: "slices",
}


@dataclass(frozen=True)
class Program:
    """A parsed input: the output node, the user's names, the free variables."""

    source: str
    output: Node
    output_name: str | None
    names: dict[Node, str] = field(default_factory=dict)
    variables: dict[str, Node] = field(default_factory=dict)
    table: RuleTable | None = None
    #: every shape the user declared, used or not (NumPy shapes)
    declared: dict[str, Shape] = field(default_factory=dict)
    #: what the reader should know about how the text was read (A**-1 is element-wise, …)
    notes: tuple[str, ...] = ()


def parse(
    text: str,
    shapes_by_name: Mapping[str, str | Shape] | None = None,
    table: RuleTable | None = None,
) -> Program:
    """Parse `text` in the input language (README, "Input language") into a `Program`."""
    table = table or default_table()
    declared = {name: _declared_shape(name, s) for name, s in (shapes_by_name or {}).items()}
    translated, origin = _prepare(text)
    module = _parse_ast(translated, origin, text)
    translator = _Translator(text, translated, origin, table, declared)
    return translator.program(module)


def parse_template(text: str, table: RuleTable | None = None) -> sympy.Expr:
    """A rule template (trusted text from a rules table) as a SymPy expression."""
    table = table or default_table()
    translated, origin = _prepare(text)
    module = _parse_ast(translated, origin, text)
    translator = _Translator(text, translated, origin, table, {}, template=True)
    program = translator.program(module)
    return translator.sympy_of(program.output)


def _declared_shape(name: str, shape: str | Shape) -> Shape:
    if not _NAME.match(name):
        raise ShapeError(f"cannot declare a shape for {name!r}: not a variable name")
    return shapes.parse_shape(shape) if isinstance(shape, str) else tuple(shape)


def _prepare(text: str) -> tuple[str, list[int]]:
    """Check the raw characters and turn `^` into `**`, keeping a column map."""
    if not isinstance(text, str):
        raise ParseError("the expression must be text")
    if len(text) > limits.MAX_INPUT_CHARS:
        raise ParseError(f"input is {len(text)} characters long; the limit is {limits.MAX_INPUT_CHARS}")
    for i, ch in enumerate(text):
        if ord(ch) > 126 or (ord(ch) < 32 and ch not in "\n\t\r"):
            what = "a control character" if ord(ch) < 32 or ord(ch) == 127 else "a non-ASCII character"
            raise ParseError(f"{what} (U+{ord(ch):04X}) is not allowed; write plain ASCII", i, text)
    if not text.strip():
        raise ParseError("empty input: write an expression such as sin(x**2)")
    out: list[str] = []
    origin: list[int] = []
    line_start = True
    for i, ch in enumerate(text):
        # indentation means nothing in the input language; pasted text often has some
        if line_start and ch in " \t":
            continue
        if ch == "\r":  # Python ends a line at \r too; one spelling keeps columns and source spans right
            if text[i + 1 : i + 2] == "\n":
                continue
            ch = "\n"
        line_start = ch == "\n"
        if ch == "^":
            out.append("**")
            origin.extend((i, i))
        else:
            out.append(ch)
            origin.append(i)
    origin.append(len(text))
    return "".join(out), origin


#: below this many characters no chain of operators is deep enough for ast.parse to need more than the
#: default recursion limit (its AST builder allows three levels per unit of the limit)
_SHALLOW_INPUT = 2000
#: one ast.parse at a time: the two pieces of process-wide state it needs (the recursion limit, the
#: warning filters) are then set and restored by one thread, never interleaved by ours
_parse_lock = threading.Lock()


def _parse_ast(translated: str, origin: list[int], text: str) -> ast.Module:
    needed = len(translated) + 1000 if len(translated) > _SHALLOW_INPUT else 0
    try:
        # CPython warns on stderr about text like `1if x` or `1(x)`; the user gets our error instead
        with _parse_lock, _recursion_room(needed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(translated, mode="exec")
    except SyntaxError as exc:
        column = _offset(translated, exc.lineno or 1, (exc.offset or 1) - 1)
        message = (exc.msg or "invalid syntax").split(" (")[0]
        if "integer string conversion" in (exc.msg or ""):  # CPython refuses over 4300 digits itself
            message = f"a number with more than {sys.get_int_max_str_digits()} digits is far too large"
        raise ParseError(f"syntax error: {message}", origin[min(column, len(origin) - 1)], text) from None
    except (RecursionError, MemoryError):
        raise ParseError(f"input is nested too deeply (limit {limits.MAX_DEPTH} levels)") from None
    except ValueError as exc:
        raise ParseError(f"cannot read the input: {exc}") from None


@contextlib.contextmanager
def _recursion_room(needed: int):
    """A recursion limit of at least `needed` while ast.parse builds a long chain's deep tree.

    The limit is process-wide, so it is only touched for long input, under
    `_parse_lock`, and put back only if it is still the value set here:
    concurrent parses can never leave it raised. The bounded worker's limit
    is high already, and short input never needs more.
    """
    previous = sys.getrecursionlimit()
    if needed <= previous:
        yield
        return
    sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if sys.getrecursionlimit() == needed:
            sys.setrecursionlimit(previous)


def _offset(text: str, lineno: int, col: int) -> int:
    start = 0
    for _ in range(lineno - 1):
        start = text.find("\n", start) + 1
    return max(0, min(start + col, len(text)))


def is_einsum_call(node: ast.AST) -> bool:
    """einsum("…", …): its first argument is the subscripts, read as a literal, never translated."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "einsum" \
        and bool(node.args) and isinstance(node.args[0], ast.Constant) and type(node.args[0].value) is str


def _children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args[1:]) if is_einsum_call(node) else list(node.args)
    if isinstance(node, ast.Subscript):
        return [node.value]  # the index is read as literals (`_index_items`), never translated
    if isinstance(node, ast.List):
        return list(node.elts)
    if isinstance(node, ast.Attribute):
        return [node.value]
    if isinstance(node, ast.Compare):
        return [node.left, *node.comparators]
    return []


class _Translator:
    """Per-parse state: the node builder, the names bound so far, the column map."""

    def __init__(self, text: str, translated: str, origin: list[int], table: RuleTable,
                 declared: dict[str, Shape], template: bool = False) -> None:
        self.text = text
        self.translated = translated
        self.origin = origin
        self.table = table
        self.declared = declared
        self.template = template
        self.builder = GraphBuilder()
        self.bound: dict[str, Node] = {}
        self.variables: dict[str, Node] = {}
        self.names: dict[Node, str] = {}
        #: nesting within one statement, a named result counting as a leaf (the limit is per statement:
        #: counted after inlining, a 49-layer network of shallow statements was refused as too deep)
        self._statement_depth: dict[Node, int] = {}
        self._sympy: dict[Node, sympy.Expr] = {}
        self.notes: list[str] = []
        #: estimated decimal digits of the numbers each node's expression may hold (see `_number_digits`)
        self._digits: dict[Node, float] = {}
        #: inside a function's definition, every node is placed at the call in the user's text
        self._fixed_column: int | None = None
        self.dimensions = {str(d): d for shape in declared.values() for d in shape if isinstance(d, sympy.Symbol)}

    # -- statements ---------------------------------------------------------

    def program(self, module: ast.Module) -> Program:
        if not module.body:
            raise ParseError("empty input: write an expression such as sin(x**2)")
        if len(module.body) > limits.MAX_STATEMENTS:
            raise ParseError(f"{len(module.body)} statements; the limit is {limits.MAX_STATEMENTS}")
        output, output_name = None, None
        for statement in module.body:
            output, output_name = self._statement(statement)
        if output.op in COMPARISONS:
            raise self.error("a comparison is only allowed as the condition of where(...)", statement)
        return Program(self.text, output, output_name, dict(self.names), dict(self.variables), self.table,
                       dict(self.declared), tuple(self.notes))

    def _statement(self, statement: ast.stmt) -> tuple[Node, str | None]:
        if isinstance(statement, ast.Expr):
            return self.translate(statement.value), None
        if isinstance(statement, ast.Assign):
            if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
                raise self.error("only 'name = expression' assignments are allowed", statement)
            name = statement.targets[0].id
            self._check_new_name(name, statement.targets[0])
            node = self.translate(statement.value)
            self.bound[name] = node
            if not node.is_leaf:
                self.names.setdefault(node, name)
            return node, name
        kind = _SYNTAX_NAMES.get(type(statement), type(statement).__name__.lower() + " statements")
        raise self.error(f"{kind}: not part of the input language", statement)

    def _check_new_name(self, name: str, where: ast.AST) -> None:
        if not _NAME.match(name):
            raise self.error(f"{name!r} is not allowed as a name (letters, digits, '_'; no leading '_')", where)
        if name in self.bound or name in self.variables:
            raise self.error(f"{name!r} is already defined; each name is assigned once", where)
        if name in CONSTANTS or self.table.function(name) is not None:
            raise self.error(f"{name!r} is a built-in name and cannot be assigned", where)

    # -- expressions --------------------------------------------------------

    def translate(self, root: ast.AST) -> Node:
        """Translate bottom-up with an explicit stack (no recursion on user depth)."""
        done: dict[int, Node] = {}
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if ready:
                done[id(node)] = self._node(node, [done[id(c)] for c in _children(node)])
                continue
            self._allow(node)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_children(node)))
        return done[id(root)]

    def _allow(self, node: ast.AST) -> None:
        allowed = (ast.BinOp, ast.UnaryOp, ast.Call, ast.List, ast.Attribute, ast.Compare, ast.Name, ast.Constant,
                   ast.Subscript)
        if not isinstance(node, allowed):
            kind = _SYNTAX_NAMES.get(type(node), type(node).__name__)
            raise self.error(f"{kind}: not part of the input language", node)
        if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
            raise self.error(f"operator {_op_symbol(node.op)} is not supported", node)
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise self.error(f"operator {_op_symbol(node.op)} is not supported", node)
        if isinstance(node, ast.Attribute) and node.attr != "T":
            raise self.error(f"attribute '.{node.attr}' is not allowed; only '.T' (transpose) is", node)
        if isinstance(node, ast.Compare) and (len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE):
            raise self.error("only single comparisons with < <= > >= are allowed", node)
        if isinstance(node, ast.Call):
            self._allow_call(node)
        if isinstance(node, ast.Subscript):
            self._index_items(node)
        if isinstance(node, ast.List) and not node.elts:
            raise self.error("an empty list is not a vector", node)

    def _allow_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            raise self.error("only named functions can be called, like sin(x)", node)
        name = node.func.id
        spec = self.table.function(name)
        if spec is None:
            raise self.error(f"unknown function '{name}'{self._suggest(name, self._function_names())}", node)
        spec = self._callee(name, spec, node)
        allowed = dict(spec.keywords)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.error("'**' arguments are not part of the input language", keyword.value)
            if keyword.arg not in allowed:
                takes = f" (it takes {', '.join(f'{k}=' for k in allowed)})" if allowed else ""
                raise self.error(f"{name}() takes no keyword argument '{keyword.arg}'{takes}", keyword.value)
            self._literal(keyword.value, f"{name}(): {keyword.arg}=")
        if spec.name == "einsum":
            self._allow_einsum(node)
            return
        if len(node.args) not in spec.arity:
            arities = sorted({*spec.arity, *((1,) if spec.reduction is not None and name == spec.name else ())})
            counts = " or ".join(str(a) for a in arities)
            raise self.error(f"{name}() takes {counts} argument(s), got {len(node.args)}", node)

    def _callee(self, name: str, spec, node: ast.Call):
        """The function a call means: with one argument, max(z) is the reduction np.max (declared as
        amax) and max(a, b) the element-wise np.maximum; arity decides, as it does in NumPy's spelling."""
        if len(node.args) != 1 or spec.reduction is None or 1 in spec.arity:
            return spec
        if name != spec.name:  # np.maximum(z) is an error in NumPy too
            raise self.error(f"{name}() takes {' or '.join(map(str, spec.arity))} argument(s), got 1 "
                             f"(the largest or smallest entry of an array is {spec.name}(z))", node)
        return self.table.function(spec.reduction)

    def _allow_einsum(self, node: ast.Call) -> None:
        """einsum's first argument is a string literal of subscripts, matching a strict pattern, and one
        operand follows per operand it names."""
        first = node.args[0] if node.args else None
        if not is_einsum_call(node):
            raise self.error('einsum() takes its subscripts first, as a string literal: einsum("ij,jk->ik", A, B)',
                             first or node)
        try:
            inputs, _ = einsum.read_subscripts(first.value)
        except ValueError as exc:
            raise self.error(f"einsum(): {exc}", first) from None
        if len(inputs) != len(node.args) - 1:
            raise self.error(f"einsum(): '{first.value}' names {len(inputs)} operand(s), but "
                             f"{len(node.args) - 1} were given", node)

    def _index_items(self, node: ast.Subscript) -> list:
        """The index of X[…] as literals: whole numbers, and slices (start, stop, step) of whole numbers or None."""
        index = node.slice
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        items: list = []
        for part in parts:
            if isinstance(part, ast.Slice):
                items.append(tuple(None if b is None else self._index_literal(b) for b in (part.lower, part.upper,
                                                                                            part.step)))
            else:
                items.append(self._index_literal(part))
        return items

    def _index_literal(self, node: ast.AST) -> int:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and type(node.operand.value) is int:
            return -node.operand.value
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        raise self.error("indexing takes whole numbers and slices of whole numbers, like X[0], X[:, 1] or X[1:3]",
                         node)

    def _literal(self, node: ast.AST, what: str):
        """A keyword argument's value: a whole number (axis=-1), True, False or None, never evaluated."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and type(node.operand.value) is int:
            value = -node.operand.value
        elif isinstance(node, ast.Constant) and (node.value is None or type(node.value) in (int, bool)):
            value = node.value
        else:
            raise self.error(f"{what} takes a whole number, True, False or None", node)
        if type(value) is int and abs(value) > 32:
            raise self.error(f"{what}{value} is out of range", node)
        return value

    def _params(self, node: ast.Call, spec) -> tuple:
        """Every keyword of the function with its value, the defaults filled in (so sum(x) and
        sum(x, axis=None) are one node)."""
        given = {k.arg: self._literal(k.value, f"{spec.name}(): {k.arg}=") for k in node.keywords}
        return tuple((key, given.get(key, default)) for key, default in spec.keywords)

    def _node(self, node: ast.AST, args: list[Node]) -> Node:
        column = self.column(node)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            op = _BINARY[type(node.op)]
            column = self._operator_column(node)
            if op == "matmul":
                return self._matmul(args, column)
            return self.apply(op, args, column)
        if isinstance(node, ast.UnaryOp):
            return args[0] if isinstance(node.op, ast.UAdd) else self.apply("neg", args, column)
        if isinstance(node, ast.Compare):
            return self.apply(_COMPARE[type(node.ops[0])], args, column)
        if isinstance(node, ast.Attribute):
            return self.apply("transpose", args, column)
        if isinstance(node, ast.List):
            return self.apply("vector", args, column)
        if isinstance(node, ast.Subscript):
            return self._index(node, args[0])
        name = node.func.id
        spec = self._callee(name, self.table.function(name), node)
        if spec.name == "einsum":
            return self._einsum(node, args, column)
        if spec.name == "dot" and spec.definition == DOT_DEFINITION:
            # np.dot: a product with a scalar, the dot product of two vectors, else a matrix product
            if not args[0].shape or not args[1].shape:
                return self.apply("mul", args, column)
            return self._matmul(args, column, "dot(): ")
        if spec.definition is not None:
            return self._expand_definition(spec.definition, args, column, name)
        return self.apply(spec.name, args, column, self._params(node, spec))

    def _index(self, node: ast.Subscript, operand: Node) -> Node:
        """X[…] as matrix algebra with unit vectors and selection matrices (operations/indexing.py)."""
        column = self.column(node.slice)
        name = node.value.id if isinstance(node.value, ast.Name) else "the indexed expression"
        try:
            spec = indexing.resolve(self._index_items(node), operand.shape, name)
        except ShapeError as exc:
            raise ShapeError(exc.message, column, self.text) from None
        if all(entry == ("all",) for entry in spec):
            return operand  # X[:] is X
        self._note(INDEXING_NOTE)
        return self.apply(indexing.NAME, [operand], column, (("index", spec),))

    def _einsum(self, node: ast.Call, args: list[Node], column: int | None) -> Node:
        """einsum as the matrix algebra it names (operations/einsum.py), translated like dot's definition."""
        subscripts = node.args[0].value  # checked by _allow_einsum
        inputs, output = einsum.read_subscripts(subscripts)
        try:
            definition = einsum.plan(inputs, output, [a.shape for a in args])
        except ShapeError as exc:
            raise ShapeError(f"einsum(): {exc.message}", column, self.text) from None
        operands = [self._operand_text(a) for a in node.args[1:]]
        readable = re.sub(r"\b[uvw]\b", lambda m: operands[SLOTS.index(m.group())], definition)
        readable = re.sub(r"\(\(([^()]*)\)\)", r"(\1)", readable)  # trace((A@X)) is trace(A@X)
        self._note(f'einsum("{subscripts}", ...) is read as {readable}')
        return self._expand_definition(definition, args, column, "einsum")

    def _operand_text(self, node: ast.AST) -> str:
        """An operand as the user wrote it, for a note (long ones shortened; inside a function's
        definition, whose columns are not the user's text, a name or '...')."""
        if isinstance(node, ast.Name):
            return node.id
        if self._fixed_column is not None:
            return "(...)"
        text = " ".join(self._source(node).split())
        return f"({text})" if len(text) <= 40 else f"({text[:36]} ...)"

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def _matmul(self, args: list[Node], column: int | None, prefix: str = "") -> Node:
        """`@` as NumPy reads it; 1-D @ 1-D is the dot product, which the paper writes as sum(u*v)."""
        try:
            shapes.matmul(args[0].shape, args[1].shape)  # shapes that fit, or a ShapeError
        except ShapeError as exc:
            raise ShapeError(prefix + exc.message, column, self.text) from None
        if len(args[0].shape) == 1 and len(args[1].shape) == 1:
            return self._expand_definition(DOT_DEFINITION, args, column)
        return self.apply("matmul", args, column)

    def _expand_definition(self, definition: str, args: list[Node], column: int | None,
                           name: str | None = None) -> Node:
        """Translate a function's definition (dot is sum(u*v)) with its slots bound to `args`.

        Errors inside point at the call in the user's text and name the function,
        since the user never wrote the definition.
        """
        saved, saved_column = self.bound, self._fixed_column
        self.bound = {**saved, **{slot: arg for slot, arg in zip(SLOTS, args)}}
        self._fixed_column = column
        try:
            return self.translate(_definition_ast(definition))
        except ShapeError as exc:
            prefix = f"{name}(): " if name and saved_column is None else ""
            raise ShapeError(prefix + exc.message, column, self.text) from None
        finally:
            self.bound, self._fixed_column = saved, saved_column

    def _constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = {str: "strings", bytes: "bytes", complex: "complex numbers"}.get(type(value), repr(value))
            raise self.error(f"{kind}: not part of the input language", node)
        if isinstance(value, int):
            if abs(value) > limits.MAX_LITERAL:
                raise self.error(f"the number {limits.abbreviate(value)} is too large (limit {limits.MAX_LITERAL:.0e})", node)
            return self.builder.make("const", value=sympy.Integer(value), column=self.column(node))
        exact = self._decimal(node)
        return self.builder.make("const", value=exact, column=self.column(node))

    def _decimal(self, node: ast.Constant) -> sympy.Rational:
        """A decimal literal as the exact rational it spells, its size checked on the text first.

        The float Python made of it is no guide: 1e-99999999 is 0.0 there, yet
        the exact value needs a denominator of 10**99999999, which SymPy would
        spend minutes building; 1e-5000 goes past Python's 4300-digit limit.
        """
        spelled = self._source(node).replace("_", "")
        match = _DECIMAL.fullmatch(spelled)
        if match is None:  # not a plain decimal (cannot happen for Python's float literals)
            raise self.error(f"cannot read the number {limits.abbreviate(spelled)}", node)
        whole, fraction = match["whole"], match["fraction"] or ""
        exponent_text = (match["exponent"] or "0").lstrip("+-").lstrip("0")
        if len(exponent_text) > 6:
            raise self.error(f"the number {limits.abbreviate(spelled)} has an exponent far out of range", node)
        digits = (whole + fraction).lstrip("0")
        if len(digits) > limits.MAX_DECIMAL_DIGITS:
            raise self.error(f"the number {limits.abbreviate(spelled)} has {len(digits)} significant digits; "
                             f"the limit is {limits.MAX_DECIMAL_DIGITS}", node)
        if not digits:
            return sympy.Integer(0)
        scale = len(fraction) - int(match["exponent"] or 0)  # the value is digits / 10**scale
        magnitude = len(digits) - scale  # 10**(magnitude - 1) <= value < 10**magnitude
        too_large = ParseError(f"the number {limits.abbreviate(spelled)} is too large "
                               f"(limit {limits.MAX_LITERAL:.0e})", self.column(node), self.text)
        if magnitude > len(str(limits.MAX_LITERAL)):
            raise too_large
        if magnitude - 1 < limits.MIN_DECIMAL_EXPONENT:
            raise self.error(f"the number {limits.abbreviate(spelled)} is too small (limit "
                             f"1e{limits.MIN_DECIMAL_EXPONENT}); write 0, or rescale", node)
        # both bounds hold, so the numerator and denominator have at most a few hundred digits
        value = sympy.Integer(int(digits) * 10**-scale) if scale <= 0 else sympy.Rational(int(digits), 10**scale)
        if abs(value) > limits.MAX_LITERAL:
            raise too_large
        return value

    def _name(self, node: ast.Name) -> Node:
        name = node.id
        if name in self.bound:
            return self.bound[name]
        if name in CONSTANTS:
            return self.builder.make("const", value=CONSTANTS[name], column=self.column(node))
        if name in self.dimensions and name not in self.declared:
            # a dimension of a declared shape (the n of X: n,3) is a positive integer constant
            return self.builder.make("const", value=self.dimensions[name], column=self.column(node))
        if not _NAME.match(name) or (self.template and name not in SLOTS):
            raise self.error(f"{name!r} is not allowed as a name (letters, digits, '_'; no leading '_')", node)
        if self.table.function(name) is not None and name not in self.declared:
            # a declared shape makes the name a variable: layer norm's gamma is not the Γ function
            raise self.error(f"'{name}' is a function; call it like {name}(x)", node)
        shape = self.declared.get(name, SCALAR)
        variable = self.builder.make("var", value=name, shape=shape, column=self.column(node))
        self.variables.setdefault(name, variable)
        return variable

    # -- building nodes -----------------------------------------------------

    def apply(self, op: str, args: list[Node], column: int | None, params: tuple = ()) -> Node:
        composed = self._composition(op, args)
        if composed is not None:
            return self.apply(composed, list(args[0].args), column, args[0].value or ())
        for index, arg in enumerate(args):
            if arg.op in COMPARISONS and not (op == "where" and index == 0):
                raise ParseError("a comparison is only allowed as the condition of where(...)", column, self.text)
        try:
            shape = shapes.result_shape(op, [a.shape for a in args], self.table, params)
        except ShapeError as exc:
            raise ShapeError(exc.message, column, self.text) from None
        if op == "pow" and len(args[0].shape) == 2 and args[1].is_const and args[1].value == -1 \
                and args[0].shape[0] == args[0].shape[1]:
            self._note_elementwise_inverse(args[0])
        spec = self.table.function(op)
        if spec is not None and spec.kind == "constant":
            return self._constant_array(op, args, column)
        if op == "pow" and args[1].is_const:
            self._check_exponent(args[1].value, column)
        digits = self._number_digits(op, args)
        if digits > limits.MAX_NUMBER_DIGITS:
            raise ParseError(f"this would make numbers of about {digits:.0f} digits (limit {limits.MAX_NUMBER_DIGITS}); "
                             "use a smaller constant or exponent", column, self.text)
        if op in COMPARISONS:
            self._check_real_comparison(args, column)
        # a comparison of constants stays a node: folded, it would be a SymPy boolean, not a number
        if all(a.is_const for a in args) and op != "vector" and op not in COMPARISONS:
            return self._fold(op, args, column, params)
        node = self.builder.make(op, tuple(args), value=params or None, shape=shape, column=column)
        self._digits[node] = digits
        if len(self.builder) > limits.MAX_NODES:
            raise ParseError(f"the expression has more than {limits.MAX_NODES} operations", column, self.text)
        depth = self._statement_depth.setdefault(node, nesting_depth(
            op, tuple(args), lambda a: 0 if a in self.names else self._statement_depth.get(a, a.depth)))
        if depth > limits.MAX_DEPTH:
            raise ParseError(f"the expression is nested more than {limits.MAX_DEPTH} levels deep", column, self.text)
        if node.height > limits.MAX_DERIVATIVE_HEIGHT:
            raise ParseError(f"the derivative would nest more than {limits.MAX_DERIVATIVE_HEIGHT} levels deep "
                             f"(a product of more than {limits.MAX_DERIVATIVE_HEIGHT // 2} factors?)", column, self.text)
        return node

    def _composition(self, op: str, args: list[Node]) -> str | None:
        """The declared operation outer(inner(z)) is (log(softmax(z)) is log_softmax(z)), if any.

        Only an unnamed inner result is merged: `s = softmax(z); log(s)` keeps
        the user's s and differentiates through it.
        """
        from .operations import composition

        if len(args) != 1 or args[0].is_leaf or args[0] in self.names:
            return None
        declared = composition(op, args[0].op)
        if declared is None:
            return None
        note = (f"{op}({args[0].op}(...)) is read as {declared.name}(...): the same value, computed stably, "
                "and differentiated as one operation")
        if note not in self.notes:
            self.notes.append(note)
        return declared.name

    def _note_elementwise_inverse(self, base: Node) -> None:
        """`A**-1` keeps NumPy's meaning (1/A entry by entry); a square A makes the inverse a likely intent."""
        name = base.value if base.op == "var" else "A"
        note = (f"{name}**-1 is element-wise, as in NumPy (1/{name} entry by entry); "
                f"for the matrix inverse write inv({name})")
        if note not in self.notes:
            self.notes.append(note)

    def _number_digits(self, op: str, args: list[Node]) -> float:
        """About how many digits the numbers in `op(args)` can reach once SymPy multiplies things out.

        Products add digits, a constant power multiplies them ((x/10**12)**1000
        holds 10**-12000; a power of a sum gains binomial coefficients, up to
        2**n), anything else keeps its largest argument's. Only an estimate,
        but it stops SymPy before it builds integers Python cannot even print.
        """
        sizes = [_constant_digits(a.value) if a.is_const else self._digits.get(a, 0.0) for a in args]
        if op == "pow" and args[1].is_const and not isinstance(args[1].value, sympy.MatrixExpr) \
                and not args[1].value.free_symbols:
            exponent = abs(limits.approximate(args[1].value) or 0)
            binomial = _LOG10_2 if args[0].op in ("add", "sub") else 0.0
            return (sizes[0] + binomial) * exponent
        if op in ("mul", "div", "matmul"):
            return sum(sizes)
        return max(sizes, default=0.0)

    def _constant_array(self, op: str, args: list[Node], column: int | None) -> Node:
        """eye(n) and ones(n): n is a declared dimension or a whole number."""
        (size,) = [a.value for a in args] if len(args) == 1 and args[0].is_const else [None]
        if size is None or not (size.is_Symbol or (size.is_Integer and 0 < size <= limits.MAX_DIMENSION)):
            raise ParseError(f"{op}(n) takes a dimension: a name from the declared shapes or a whole number "
                             f"from 1 to {limits.MAX_DIMENSION}", column, self.text)
        shape = (size, size) if op == "eye" else (size,)
        value = sympy.Identity(size) if op == "eye" else sympy.OneMatrix(size, 1)
        return self.builder.make("const", value=value, shape=shape, column=column)

    def _check_exponent(self, exponent: sympy.Expr, column: int | None) -> None:
        if isinstance(exponent, sympy.MatrixExpr):  # eye(n), ones(n): no numeric size to check
            raise ParseError("a constant array such as eye(n) or ones(n) cannot be an exponent", column, self.text)
        if exponent.free_symbols:  # a dimension such as n: unbounded, so its size cannot be checked
            raise ParseError(f"exponent {exponent} is a dimension, not a number; use a number up to "
                             f"{limits.MAX_EXPONENT}", column, self.text)
        approx = limits.approximate(exponent)
        if approx is None or not abs(approx) <= limits.MAX_EXPONENT:
            raise ParseError(f"exponent {limits.abbreviate(exponent)} is too large (limit {limits.MAX_EXPONENT})", column, self.text)

    def _fold(self, op: str, args: list[Node], column: int | None, params: tuple = ()) -> Node:
        """Fold a constant subexpression, after checking its size numerically.

        The check evaluates the *unevaluated* expression with mpmath, which is
        fast even where SymPy's automatic simplification would hang.
        """
        values = [a.value for a in args]
        shape = shapes.result_shape(op, [a.shape for a in args], self.table, params)
        arg_shapes = [a.shape for a in args]
        if any(isinstance(v, sympy.MatrixExpr) for v in values):  # eye(n), ones(n): nothing SymPy could choke on
            value = build(op, values, self.table, shape=shape, arg_shapes=arg_shapes, params=params)
            return self.builder.make("const", value=value, shape=shape, column=column)
        lazy = build(op, values, self.table, evaluate=False)
        if lazy.free_symbols:
            self._check_dimension_constant(lazy, column)
            value = build(op, values, self.table, shape=shape, arg_shapes=arg_shapes, params=params)
            return self.builder.make("const", value=value, shape=shape, column=column)
        approx = limits.approximate(lazy)
        if approx is None:
            raise ParseError("a constant part of the expression is undefined (division by zero?)", column, self.text)
        if abs(approx) > limits.MAX_CONSTANT:
            raise ParseError(f"a constant part of the expression is too large (about {abs(approx):.3g})", column, self.text)
        if abs(approx.imag) > 1e-12 * max(1.0, abs(approx)):  # asin(3), sqrt(-1): the language is real
            raise ParseError(f"a constant part of the expression is not a real number ({limits.abbreviate(lazy)})",
                             column, self.text)
        value = build(op, values, self.table)
        return self.builder.make("const", value=value, column=column)

    def _check_dimension_constant(self, lazy: sympy.Expr, column: int | None) -> None:
        """A constant in a dimension (n of w: n) is checked at the largest size a check or expansion gives it.

        Dimensions are unbounded symbols, so gamma(gamma(n + 3)) passed every
        constant bound here and overflowed when a check put numbers in.
        """
        from sympy.core.parameters import evaluate

        with evaluate(False):  # gamma(4099) must not be computed exactly here
            largest = lazy.xreplace({d: sympy.Integer(limits.MAX_DIMENSION) for d in lazy.free_symbols})
        approx = limits.approximate(largest)
        if approx is not None and abs(approx) > limits.MAX_CONSTANT:
            names = ", ".join(sorted(str(d) for d in lazy.free_symbols))
            raise ParseError(f"a constant part of the expression is too large when {names} = {limits.MAX_DIMENSION} "
                             f"(about {abs(approx):.3g})", column, self.text)

    def _check_real_comparison(self, args: list[Node], column: int | None) -> None:
        """Both sides of a comparison are real: asin(3) > x has no meaning (and SymPy raises TypeError)."""
        for arg in args:
            if arg.is_const and not isinstance(arg.value, sympy.MatrixExpr) and not arg.value.free_symbols:
                approx = limits.approximate(arg.value)
                if approx is None or abs(approx.imag) > 1e-12 * max(1.0, abs(approx)):
                    raise ParseError(f"a comparison needs real numbers, and {limits.abbreviate(arg.value)} is not "
                                     "real", column, self.text)

    def sympy_of(self, root: Node) -> sympy.Expr:
        """SymPy expression of a node (used for templates; the engine has its own)."""
        from .expr import topological_order

        for node in topological_order(root):
            if node in self._sympy:
                continue
            if node.op == "var":
                self._sympy[node] = sympy.Symbol(node.value, real=True)
            elif node.op == "const":
                self._sympy[node] = node.value
            else:
                self._sympy[node] = build(node.op, [self._sympy[a] for a in node.args], self.table)
        return self._sympy[root]

    # -- errors -------------------------------------------------------------

    def column(self, node: ast.AST) -> int | None:
        if self._fixed_column is not None:
            return self._fixed_column
        if not hasattr(node, "col_offset"):
            return None
        offset = _offset(self.translated, node.lineno, node.col_offset)
        return self.origin[min(offset, len(self.origin) - 1)]

    def _operator_column(self, node: ast.BinOp) -> int | None:
        """The column of the operator itself, so a shape error points at the `+`, not the operand."""
        if self._fixed_column is not None:
            return self._fixed_column
        start = _offset(self.translated, node.left.end_lineno, node.left.end_col_offset)
        end = _offset(self.translated, node.right.lineno, node.right.col_offset)
        for index in range(start, end):
            if self.translated[index] not in " \t\n\r()\\":
                return self.origin[index]
        return self.column(node)

    def _source(self, node: ast.AST) -> str:
        start = _offset(self.translated, node.lineno, node.col_offset)
        end = _offset(self.translated, node.end_lineno, node.end_col_offset)
        return self.translated[start:end]

    def error(self, message: str, node: ast.AST) -> ParseError:
        return ParseError(message, self.column(node), self.text)

    def _function_names(self) -> list[str]:
        return sorted(set(self.table.functions) | set(self.table.aliases))

    @staticmethod
    def _suggest(name: str, candidates: list[str]) -> str:
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        return f" (did you mean '{close[0]}'?)" if close else ""


def _constant_digits(value) -> float:
    """Decimal digits of a constant's rationals (numerator and denominator); 0 for arrays and dimensions."""
    if not isinstance(value, sympy.Basic) or isinstance(value, sympy.MatrixExpr):
        return 0.0
    rationals = [value] if value.is_Rational else value.atoms(sympy.Rational)
    return sum(math.log10(abs(r.p)) + math.log10(r.q) for r in rationals if r.p)


def _op_symbol(op: ast.AST) -> str:
    symbols = {ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|", ast.FloorDiv: "//", ast.Mod: "%",
               ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not"}
    return symbols.get(type(op), type(op).__name__)


@lru_cache(maxsize=64)
def _definition_ast(definition: str) -> ast.AST:
    module = ast.parse(definition, mode="eval")
    return module.body
