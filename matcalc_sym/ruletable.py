"""The derivative rules, loaded from the TOML tables in `rules/`.

Rules are data (like autograd's table of VJPs): each is a small frozen record
with templates for the partial derivative by each argument slot. This module
finds the rule for an application and instantiates its templates; it knows no
calculus of its own.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import sympy

from .errors import MatcalcError

SLOTS = ("u", "v", "w")
OPERATORS = frozenset({"add", "sub", "mul", "div", "pow", "neg"})
_PLACEHOLDERS = {name: sympy.Symbol(name, real=True) for name in SLOTS}


class RuleFileError(MatcalcError):
    """A rules file that is not well-formed; names the file, rule and field."""


@dataclass(frozen=True)
class FunctionSpec:
    """A function of the input language: how to build it and what it takes."""

    name: str
    arity: tuple[int, ...] = (1,)
    sympy_name: str | None = None
    definition: str | None = None
    kind: str = "elementwise"
    signatures: tuple[str, ...] = ()
    #: a function defined in a user's rules file (see userfunctions.py), built instead of `sympy_name`
    function: Any = None
    #: that function's definition as written in the file (for the independent reference evaluator)
    written_definition: str | None = None
    #: keyword arguments the input language allows for it (axis=, keepdims=, …), with their defaults
    keywords: tuple[tuple[str, Any], ...] = ()
    #: the declared operation a ONE-argument call is instead: max(z) is the reduction amax (NumPy's
    #: np.max), while max(a, b) stays this element-wise function (np.maximum)
    reduction: str | None = None


@dataclass(frozen=True)
class Rule:
    """One line of a derivative table: the partial by each slot, as templates."""

    id: str
    op: str
    partials: dict[str, str] = field(default_factory=dict)
    explain: str = ""
    source: str = ""
    arity: int | None = None
    depends: frozenset[str] | None = None
    constant: dict[str, str] = field(default_factory=dict)
    generic: bool = False
    origin: str = ""

    def matches(self, op: str, nargs: int, depends: frozenset[str], constants: dict[str, Any]) -> bool:
        if self.op not in (op, "*"):
            return False
        if self.generic:
            return op not in OPERATORS
        if self.arity is not None and self.arity != nargs:
            return False
        if self.depends is not None and self.depends != depends:
            return False
        if not depends <= set(self.partials):
            return False
        for slot, wanted in self.constant.items():
            value = constants.get(slot)
            if value is None or value != compiled_template(wanted):
                return False
        return True

    def partial(self, slot: str, arguments: dict[str, sympy.Expr]) -> sympy.Expr:
        """The partial derivative by `slot`, with the slots bound to `arguments`."""
        template = compiled_template(self.partials[slot])
        return template.xreplace({_PLACEHOLDERS[k]: v for k, v in arguments.items()})


@dataclass(frozen=True)
class JacobianRule:
    """Which Jacobian form an array operation gets (forms live in vector_rules.py)."""

    id: str
    match: str
    form: str
    operands: tuple[str, ...] | None = None
    slot: str | None = None
    explain: str = ""
    source: str = ""
    origin: str = ""


@dataclass(frozen=True)
class RuleTable:
    """All rules and functions known to one derivation."""

    rules: tuple[Rule, ...]
    functions: dict[str, FunctionSpec]
    aliases: dict[str, str]
    jacobians: tuple[JacobianRule, ...] = ()
    vjps: tuple[JacobianRule, ...] = ()

    def function(self, name: str) -> FunctionSpec | None:
        return self.functions.get(self.aliases.get(name, name))

    def find(self, op: str, nargs: int, depends: frozenset[str], constants: dict[str, Any]) -> Rule:
        for rule in self.rules:
            if rule.matches(op, nargs, depends, constants):
                return rule
        raise MatcalcError(f"no derivative rule for '{op}' in the rules tables")


def _rule_from(entry: dict, origin: str) -> Rule:
    where = f"{origin}: rule {entry.get('id', '?')!r}"
    for key in ("id", "op"):
        if not isinstance(entry.get(key), str):
            raise RuleFileError(f"{where}: field '{key}' must be a string")
    unknown = set(entry) - {"id", "op", "partials", "explain", "source", "arity", "depends", "constant", "generic"}
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    partials = entry.get("partials", {})
    if not isinstance(partials, dict) or not all(isinstance(v, str) for v in partials.values()):
        raise RuleFileError(f"{where}: field 'partials' must map slots to template strings")
    if set(partials) - set(SLOTS):
        raise RuleFileError(f"{where}: field 'partials' has slots other than u, v, w")
    if not partials and not entry.get("generic"):
        raise RuleFileError(f"{where}: field 'partials' is missing")
    depends = entry.get("depends")
    return Rule(
        id=entry["id"],
        op=entry["op"],
        partials=dict(partials),
        explain=str(entry.get("explain", "")),
        source=str(entry.get("source", "")),
        arity=entry.get("arity"),
        depends=frozenset(depends) if depends is not None else None,
        constant=dict(entry.get("constant", {})),
        generic=bool(entry.get("generic", False)),
        origin=origin,
    )


def _functions_from(data: dict, origin: str) -> tuple[dict[str, FunctionSpec], dict[str, str]]:
    functions: dict[str, FunctionSpec] = {}
    aliases: dict[str, str] = {}
    for name, spec in data.get("functions", {}).items():
        if not isinstance(spec, dict) or not ("sympy" in spec or "definition" in spec or "kind" in spec):
            raise RuleFileError(f"{origin}: function {name!r} needs a 'sympy', 'definition' or 'kind' field")
        arity = spec.get("arity", 1)
        arity = tuple(arity) if isinstance(arity, list) else (int(arity),)
        kind = spec.get("kind", "elementwise")
        if kind not in ("elementwise", "reduction", "matrix", "constant"):
            raise RuleFileError(f"{origin}: function {name!r}: field 'kind' must be elementwise, reduction, "
                                "matrix or constant")
        signatures = tuple(spec.get("signatures", ()))
        functions[name] = FunctionSpec(name, arity, spec.get("sympy"), spec.get("definition"), kind, signatures,
                                       reduction=spec.get("reduction"))
        for alias in spec.get("aliases", []):
            aliases[alias] = name
    return functions, aliases


def load_table(paths: tuple[Path, ...] = (), parsed: tuple[tuple[str, dict], ...] = ()) -> RuleTable:
    """The shipped tables plus any user files (user rules are tried first).

    `parsed` holds user files already read and validated, as (origin, data):
    reading a file a second time could see different contents.
    """
    rules: list[Rule] = []
    jacobians: list[JacobianRule] = []
    vjps: list[JacobianRule] = []
    functions: dict[str, FunctionSpec] = {}
    aliases: dict[str, str] = {}
    sources = [(str(p), _toml(str(p), Path(p).read_bytes())) for p in paths]
    sources += list(parsed)
    sources += [(f"rules/{name}", _toml(f"rules/{name}", data)) for name, data in _shipped_tables()]
    for origin, data in sources:
        more_functions, more_aliases = _functions_from(data, origin)
        for name, spec in more_functions.items():
            functions.setdefault(name, spec)
        for alias, name in more_aliases.items():
            aliases.setdefault(alias, name)
        rules.extend(_rule_from(entry, origin) for entry in data.get("rule", []))
        jacobians.extend(_jacobian_from(entry, origin) for entry in data.get("jacobian", []))
        vjps.extend(_jacobian_from(entry, origin) for entry in data.get("vjp", []))
    for name, spec in _declared_functions().items():
        functions.setdefault(name, spec)
    for alias, name in _declared_aliases().items():
        aliases.setdefault(alias, name)
    generic = [r for r in rules if r.generic]
    ordered = tuple([r for r in rules if not r.generic] + generic)
    return RuleTable(ordered, functions, aliases, tuple(jacobians), tuple(vjps))


def _declared_functions() -> dict[str, FunctionSpec]:
    """The array operations declared in matcalc_sym/operations/, as functions of the input language."""
    from .operations import REGISTRY

    return {op.name: FunctionSpec(op.name, op.arity, kind=op.kind, signatures=op.signatures,
                                  keywords=tuple(op.keywords.items()))
            for op in REGISTRY.values() if op.build is not None and op.callable}


def _declared_aliases() -> dict[str, str]:
    from .operations import REGISTRY

    return {alias: op.name for op in REGISTRY.values() if op.build is not None and op.callable
            for alias in op.aliases}


def _toml(origin: str, raw: bytes) -> dict:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"{origin}: not valid TOML: {exc}") from None


def _jacobian_from(entry: dict, origin: str) -> JacobianRule:
    where = f"{origin}: jacobian {entry.get('id', '?')!r}"
    for key in ("id", "match", "form"):
        if not isinstance(entry.get(key), str):
            raise RuleFileError(f"{where}: field '{key}' must be a string")
    unknown = set(entry) - {"id", "match", "form", "operands", "slot", "explain", "source"}
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    operands = entry.get("operands")
    return JacobianRule(entry["id"], entry["match"], entry["form"],
                        tuple(operands) if operands is not None else None, entry.get("slot"),
                        str(entry.get("explain", "")), str(entry.get("source", "")), origin)


@lru_cache(maxsize=1)
def _shipped_tables() -> tuple[tuple[str, bytes], ...]:
    folder = resources.files("matcalc_sym.rules")
    return tuple(
        sorted((f.name, f.read_bytes()) for f in folder.iterdir() if f.name.endswith(".toml"))
    )


@lru_cache(maxsize=1)
def default_table() -> RuleTable:
    """The shipped tables, read once per process (they are immutable data)."""
    return load_table()


@lru_cache(maxsize=512)
def compiled_template(template: str) -> sympy.Expr:
    """A rule template as a SymPy expression in the placeholders u, v, w."""
    from .parse import parse_template

    return parse_template(template)
