"""The registry: every array operation declared once, its rules registered beside it.

The model is JAX's primitives (`ad.defjvp(sin_p, …)`, `primitive_transposes[p]`)
and autograd's `defvjp` table: an `Operation` holds everything the package
does with one operation (its shape signature, how the translation builds
it, its NumPy value, its NumPy code, its written-out value for `--expand`,
and its Jacobian and vector-Jacobian forms), so adding one is one
declaration, and every stage looks it up here by name (or by the SymPy class
the translation built) instead of keeping a list of its own.

Which form a rule uses, its id, explanation and source stay data, in
`rules/vector.toml` ([[jacobian]]) and `rules/matrix.toml` ([[vjp]]):
`match` names an operation here and `form` one of its forms. `find_rule` is
the one matcher both modes use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeriveError

Form = Callable[[Any], Any]


def _args(expr) -> tuple:
    """An application's operands: a call's own, else the expression's arguments (Trace(A): A)."""
    from .calls import ArrayCall, ScalarCall

    return expr.operands if isinstance(expr, (ArrayCall, ScalarCall)) else tuple(expr.args)


@dataclass(frozen=True)
class Operation:
    """One array operation of the input language (or a family of operators, for their rule forms).

    * `signatures`: gufunc-style shape signatures such as "(n,n)->()"; or
      `shape(arg_shapes, params)` when a signature cannot say it (axis=).
    * `build(args, arg_shapes, shape, params)`: the SymPy expression the
      translation makes (args are SymPy operands, 1-D arrays stored n×1).
    * `classes`: the SymPy classes `build` makes, so evaluators find this
      declaration from an expression; `operands(expr)` are its array inputs.
    * `value(np, values, expr)`: its value with NumPy, from its operands'
      values (stored forms: 2-D arrays, a 1-D vector as an n×1 column).
    * `code(codes, expr, np)`: the same as NumPy source, for exported modules
      (`np(name)` spells a NumPy attribute).
    * `explicit(values, expr)`: written out entry by entry (SymPy matrices of
      scalars), for `--expand`.
    * `jacobians` / `vjps`: forward-mode (numerator-layout Jacobian) and
      reverse-mode (vector-Jacobian product) forms, by the name the rules
      tables use.
    * `callable`: False for an operation the input language writes with
      syntax of its own (indexing, X[0]) rather than as a call by its name.
    * `composes`: (outer, inner) when outer(inner(z, **kw)) is this operation
      of z with the same keywords (log(softmax(z)) is log_softmax(z)): the
      translation reads the composition as this one operation, whose rules
      are shorter than the chain through both.
    * `detail(node)`: words a step adds about this application, such as the
      axis it works along ("row-wise: over each of the N rows").
    * `notes(graph, result)`: sentences about a finished result that the
      operation knows how to read (softmax cross-entropy's s·Σy − y is the
      classic s − y when Σy = 1).
    """

    name: str
    arity: tuple[int, ...] = (1,)
    signatures: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    #: the keyword arguments the input language allows, with their defaults (literal values only)
    keywords: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "matrix"
    build: Callable | None = None
    classes: tuple[type, ...] = ()
    operands: Callable[[Any], tuple] = _args
    value: Callable | None = None
    code: Callable | None = None
    explicit: Callable | None = None
    jacobians: Mapping[str, Form] = field(default_factory=dict)
    vjps: Mapping[str, Form] = field(default_factory=dict)
    shape: Callable | None = None
    #: the name a call prints with, when it is not `name` (the reduction max(z) is declared as amax)
    shown_as: str | None = None
    callable: bool = True
    composes: tuple[str, str] | None = None
    notes: Callable | None = None
    detail: Callable | None = None


REGISTRY: dict[str, Operation] = {}
_BY_CLASS: dict[type, Operation] = {}


def register(op: Operation) -> Operation:
    """Declare `op` (once: a second declaration of a name is a programming error)."""
    if op.name in REGISTRY:
        raise ValueError(f"operation {op.name!r} is declared twice")
    REGISTRY[op.name] = op
    for klass in op.classes:
        _BY_CLASS[klass] = op
    _BY_TYPE.clear()
    return op


def operation(name: str, table=None) -> Operation | None:
    """The declaration of `name`; a rules file's array function is found only in its own `table`
    (its `FunctionSpec.operation`), never process-wide."""
    own = getattr(table.function(name), "operation", None) if table is not None else None
    return own if own is not None else REGISTRY.get(name)


#: what `of` found for each type of expression (`_CALL`: look at the call's own declaration)
_BY_TYPE: dict[type, object] = {}
_CALL, _UNSEEN = object(), object()


def of(expr) -> Operation | None:
    """The declaration of the operation `expr` is an application of, if any (by its class, or a
    call's name).

    Asked of every node by every printer and evaluator, so each type's answer
    is looked up along its MRO once.
    """
    kind = type(expr)
    found = _BY_TYPE.get(kind, _UNSEEN)
    if found is _UNSEEN:
        found = _BY_TYPE[kind] = _of_type(kind)
    if found is _CALL:
        own = getattr(expr, "declaration", None)  # a rules file's array function: its class carries it
        return own if own is not None else REGISTRY.get(expr.name)
    return found


def _of_type(kind: type):
    from .calls import ArrayCall, ScalarCall

    if issubclass(kind, (ArrayCall, ScalarCall)):
        return _CALL
    for klass in kind.__mro__:
        op = _BY_CLASS.get(klass)
        if op is not None:
            return op
    return None


def operation_classes() -> tuple[type, ...]:
    """Every class an operation builds (the evaluators' one generic case)."""
    from .calls import ArrayCall, ScalarCall

    return (*_BY_CLASS, ArrayCall, ScalarCall)


def scalar_classes() -> tuple[type, ...]:
    """Operation classes whose values are scalars (sum, trace, det, …): atoms of element-wise bodies."""
    import sympy

    from .calls import ScalarCall

    return (*(klass for klass in _BY_CLASS if not issubclass(klass, sympy.MatrixExpr)), ScalarCall)


def composition(outer: str, inner: str) -> Operation | None:
    """The operation that outer(inner(z)) is, if one is declared (log, softmax: log_softmax)."""
    return next((op for op in REGISTRY.values() if op.composes == (outer, inner)), None)


def find_rule(rules, match: str, operand_kinds: tuple[str, ...], slot: str):
    """The first rule for `match` whose operand kinds and slot fit: the one matcher of both modes."""
    for rule in rules:
        if rule.match == match and (rule.operands is None or tuple(rule.operands) == operand_kinds) \
                and (rule.slot is None or rule.slot == slot):
            return rule
    return None


def form(rule, mode: str) -> Form:
    """The builder a rule names: `REGISTRY[rule.match]`'s Jacobian (forward) or VJP (reverse) form."""
    op = getattr(rule, "operation", None) or REGISTRY.get(rule.match)  # a rules file's rule carries its own
    forms = {} if op is None else (op.jacobians if mode == "forward" else op.vjps)
    if rule.form not in forms:
        raise DeriveError(f"rule {rule.id!r} ({rule.origin}) names the form {rule.form!r}, which operation "
                          f"{rule.match!r} does not declare")
    return forms[rule.form]
