"""Rules files from users (`--rules FILE`): checked strictly, proven before use.

The shipped tables are trusted data with a test behind every rule; a user's
file is neither. So before a user's rules join the table this module

1. reads the file itself and names the file, the entry and the field of the
   first thing that is malformed (a wrong type, an unknown function, a
   template that does not parse), instead of failing somewhere deeper;
2. turns each `[functions.NAME]` that has a `definition` *and* a `[[rule]]`
   for NAME into a real SymPy function (see `userfunctions`), so the call
   displays as itself and the user's rule is the one that fires (a
   definition without a rule stays a shorthand, expanded inline like `relu`);
3. proves every rule of the file against `sympy.diff` of the definition
   (`rulecheck.verify_rule`) and refuses a wrong one with its counter-example.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

from .errors import MatcalcError
from .functions import resolve
from .ruletable import (
    OPERATORS,
    SLOTS,
    RuleFileError,
    RuleTable,
    compiled_template,
    default_table,
    load_table,
)
from .userfunctions import user_function

_RULE_FIELDS = {"id", "op", "partials", "explain", "source", "arity", "depends", "constant", "generic"}
_FUNCTION_FIELDS = {"sympy", "definition", "arity", "aliases", "kind", "signatures"}


class RuleRejected(RuleFileError):
    """A user's rule that disagrees with sympy.diff; carries the counter-example."""


def load_user_table(paths: Sequence[str | Path]) -> RuleTable:
    """The shipped tables plus the user's files, each validated and every user rule proven."""
    files = [(str(p), _read(Path(p))) for p in paths]
    for origin, data in files:
        _validate(origin, data)
    table = load_table(tuple(Path(p) for p in paths))
    table = _with_user_functions(table, files)
    _prove(table, {origin for origin, _ in files})
    return table


def _read(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(f"rules file {str(path)!r}: cannot read it ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"{path}: not valid TOML: {exc}") from None


def _validate(origin: str, data: dict) -> None:
    arrays = set(data) & {"jacobian", "vjp"}
    if arrays:
        raise RuleFileError(f"{origin}: [[{sorted(arrays)[0]}]] entries cannot be proven when the file is loaded; "
                            "a rules file may hold [functions.NAME] and scalar [[rule]] entries (array rules "
                            "for element-wise functions follow from the scalar rule)")
    unknown = set(data) - {"functions", "rule"}
    if unknown:
        raise RuleFileError(f"{origin}: unknown table(s) {', '.join(sorted(unknown))} "
                            "(expected [functions.NAME] and [[rule]])")
    functions = data.get("functions", {})
    if not isinstance(functions, dict):
        raise RuleFileError(f"{origin}: [functions] must be a table of NAME = {{ ... }} entries")
    shipped = default_table()
    for name, spec in functions.items():
        where = f"{origin}: function {name!r}"
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            raise RuleFileError(f"{where}: a function name is letters, digits and '_', starting with a letter")
        if shipped.function(name) is not None:
            raise RuleFileError(f"{where}: already a built-in function; add a [[rule]] for it instead")
        _validate_function(where, spec)
    rules = data.get("rule", [])
    if not isinstance(rules, list) or not all(isinstance(e, dict) for e in rules):
        raise RuleFileError(f"{origin}: 'rule' must be an array of tables ([[rule]])")
    known = set(default_table().functions) | set(default_table().aliases) | set(functions)
    for index, entry in enumerate(rules, start=1):
        _validate_rule(f"{origin}: rule {entry.get('id', f'#{index}')!r}", entry, known)


def _validate_function(where: str, spec) -> None:
    if not isinstance(spec, dict):
        raise RuleFileError(f"{where}: must be a table such as {{ definition = \"log(1 + exp(u))\" }}")
    unknown = set(spec) - _FUNCTION_FIELDS
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    arity = spec.get("arity", 1)
    counts = arity if isinstance(arity, list) else [arity]
    if not counts or not all(isinstance(a, int) and not isinstance(a, bool) and 1 <= a <= 3 for a in counts):
        raise RuleFileError(f"{where}: field 'arity' must be 1, 2 or 3 (or a list of them)")
    if "definition" in spec:
        _template(where, "definition", spec["definition"])
    elif "sympy" in spec:
        if not isinstance(spec["sympy"], str):
            raise RuleFileError(f"{where}: field 'sympy' must be a string")
        try:
            resolve(spec["sympy"])
        except ValueError:
            raise RuleFileError(f"{where}: field 'sympy': {spec['sympy']!r} is not a SymPy function") from None


def _validate_rule(where: str, entry: dict, known: set[str]) -> None:
    unknown = set(entry) - _RULE_FIELDS
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("id", "op"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise RuleFileError(f"{where}: field '{key}' must be a non-empty string")
    if entry["op"] not in OPERATORS and entry["op"] not in known:
        raise RuleFileError(f"{where}: field 'op': unknown function {entry['op']!r} "
                            "(define it under [functions] in the same file)")
    partials = entry.get("partials")
    if not isinstance(partials, dict) or not partials:
        raise RuleFileError(f"{where}: field 'partials' must map slots (u, v, w) to templates")
    for slot, template in partials.items():
        if slot not in SLOTS:
            raise RuleFileError(f"{where}: field 'partials.{slot}': slots are u, v and w")
        _template(where, f"partials.{slot}", template)
    arity = entry.get("arity")
    if arity is not None and (not isinstance(arity, int) or isinstance(arity, bool) or not 1 <= arity <= 3):
        raise RuleFileError(f"{where}: field 'arity' must be 1, 2 or 3")
    depends = entry.get("depends")
    if depends is not None and (not isinstance(depends, list) or not set(depends) <= set(SLOTS)):
        raise RuleFileError(f"{where}: field 'depends' must be a list of slots such as [\"u\"]")
    constant = entry.get("constant", {})
    if not isinstance(constant, dict):
        raise RuleFileError(f"{where}: field 'constant' must map slots to constants")
    for slot, value in constant.items():
        _template(where, f"constant.{slot}", value)
    for key in ("explain", "source"):
        if key in entry and not isinstance(entry[key], str):
            raise RuleFileError(f"{where}: field '{key}' must be a string")


def _template(where: str, field: str, text) -> None:
    if not isinstance(text, str) or not text.strip():
        raise RuleFileError(f"{where}: field '{field}' must be a template string in u, v, w")
    try:
        compiled_template(text)
    except MatcalcError as exc:
        raise RuleFileError(f"{where}: field '{field}' = {text!r}: {exc}; a template is an expression "
                            "in the slots u, v, w using the shipped functions") from None


def _with_user_functions(table: RuleTable, files: list[tuple[str, dict]]) -> RuleTable:
    """Functions with a definition and a rule become SymPy functions of their own."""
    functions = dict(table.functions)
    for _origin, data in files:
        for name in data.get("functions", {}):
            spec = functions.get(name)
            rule = next((r for r in table.rules if r.op == name and not r.generic), None)
            if spec is None or spec.definition is None or rule is None:
                continue
            arity = spec.arity[0]
            definition = compiled_template(spec.definition)
            partials = tuple(compiled_template(rule.partials[s]) if s in rule.partials else None
                             for s in SLOTS[:arity])
            function = user_function(name, arity, definition, partials)
            functions[name] = dataclasses.replace(spec, definition=None, sympy_name=None, function=function,
                                                  written_definition=spec.definition)
    return dataclasses.replace(table, functions=functions)


def _prove(table: RuleTable, origins: set[str]) -> None:
    from .rulecheck import checkable, verify_rule

    for rule in table.rules:
        if rule.origin not in origins or not checkable(rule):
            continue
        verdict = verify_rule(rule, table)
        if not verdict.ok:
            raise RuleRejected(f"{rule.origin}: rule {rule.id!r} for {rule.op} refused: "
                               f"{verdict.counter_example()}")
