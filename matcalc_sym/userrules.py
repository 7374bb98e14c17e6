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
   (`rulecheck.verify_rule`) and refuses a wrong one with its counter-example;
4. turns each `[array_functions.NAME]` (a signature, a definition, and its
   VJP and Jacobian as formulas) into an operation of this table alone
   (`operations.user_arrays`), after translating every formula and proving
   it against finite differences at random sizes (`arraycheck`).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import sympy

from .errors import MatcalcError
from .functions import resolve
from .ruletable import (
    OPERATORS,
    SLOTS,
    FunctionSpec,
    JacobianRule,
    RuleFileError,
    RuleTable,
    compiled_template,
    default_table,
    load_table,
)
from .userfunctions import user_function

_RULE_FIELDS = {"id", "op", "partials", "explain", "source", "arity", "depends", "constant", "generic"}
_FUNCTION_FIELDS = {"sympy", "definition", "arity", "aliases", "kind", "signatures"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
#: a rules file is a page of text; a larger one is a mistake or an attack on memory
MAX_RULES_FILE_BYTES = 1_000_000
#: SymPy classes a file may not name with `sympy = "..."`: not functions of numbers
_STRUCTURAL = {"Function", "Piecewise", "Lambda", "WildFunction", "Subs", "Derivative", "Integral", "Sum", "Product",
               "Id", "ExprCondPair"}


class RuleRejected(RuleFileError):
    """A user's rule that disagrees with sympy.diff; carries the counter-example."""


def load_user_table(paths: Sequence[str | Path]) -> RuleTable:
    """The shipped tables plus the user's files, each validated and every user rule proven."""
    files = [(str(p), _read(Path(p))) for p in paths]
    for origin, data in files:
        _validate(origin, data)
    table = load_table(parsed=tuple(files))  # the data validated here, not the files read a second time
    table = _with_user_functions(table, files)
    _prove(table, {origin for origin, _ in files})
    return _with_array_functions(table, files)


def _read(path: Path) -> dict:
    try:
        size = path.stat().st_size
        if size > MAX_RULES_FILE_BYTES:
            raise RuleFileError(f"rules file {str(path)!r} is {size} bytes; the limit is {MAX_RULES_FILE_BYTES}")
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(f"rules file {str(path)!r}: cannot read it ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise RuleFileError(f"{path}: nested too deeply to be a rules file") from None
    _refuse_control_characters(str(path), data)
    return data


def _refuse_control_characters(where: str, value, field: str = "") -> None:
    """Every key and string of the file: no control or format character (ESC, NUL, bidi overrides).

    Rule ids, explanations and sources are printed to terminals and typeset
    in LaTeX and Markdown; an escape sequence there would rewrite the
    reader's screen. Walked with a stack, so nesting cannot exhaust Python's.
    """
    stack = [(value, field)]
    while stack:
        item, name = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                _check_text(where, key, f"{name}.{key}" if name else key)
                stack.append((inner, f"{name}.{key}" if name else key))
        elif isinstance(item, list):
            stack.extend((inner, f"{name}[{index}]") for index, inner in enumerate(item))
        elif isinstance(item, str):
            _check_text(where, item, name)


def _check_text(where: str, text: str, field: str) -> None:
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf"):
            raise RuleFileError(f"{where}: field {field!r} holds the control character U+{ord(char):04X}; "
                                "rules files hold printable text only")


def _validate(origin: str, data: dict) -> None:
    arrays = set(data) & {"jacobian", "vjp"}
    if arrays:
        raise RuleFileError(f"{origin}: [[{sorted(arrays)[0]}]] entries cannot be proven when the file is loaded "
                            "(they name forms written in Python); declare an array function with its derivatives "
                            "as formulas under [array_functions.NAME] instead (array rules for element-wise "
                            "functions follow from the scalar rule)")
    unknown = set(data) - {"functions", "rule", "array_functions"}
    if unknown:
        raise RuleFileError(f"{origin}: unknown table(s) {', '.join(sorted(unknown))} "
                            "(expected [functions.NAME], [[rule]] and [array_functions.NAME])")
    functions = data.get("functions", {})
    if not isinstance(functions, dict):
        raise RuleFileError(f"{origin}: [functions] must be a table of NAME = {{ ... }} entries")
    shipped = default_table()
    for name, spec in functions.items():
        where = f"{origin}: function {name!r}"
        _validate_new_name(where, name, "a function name", shipped)
        _validate_function(where, spec, shipped, set(functions) - {name})
    rules = data.get("rule", [])
    if not isinstance(rules, list) or not all(isinstance(e, dict) for e in rules):
        raise RuleFileError(f"{origin}: 'rule' must be an array of tables ([[rule]])")
    arities = {name: _arities(spec) for name, spec in functions.items() if isinstance(spec, dict)}
    for index, entry in enumerate(rules, start=1):
        rule_id = entry.get("id") if isinstance(entry.get("id"), str) else f"#{index}"
        _validate_rule(f"{origin}: rule {rule_id!r}", entry, shipped, arities)
    _validate_array_functions(origin, data.get("array_functions", {}), shipped, set(functions))


def _validate_new_name(where: str, name, what: str, shipped: RuleTable) -> None:
    """A name a file adds (a function or an alias): well formed, and nothing that exists already.

    Built-ins cannot be redefined (an alias `sin` would change what sin
    means), and SymPy's own class names cannot be taken: SymPy and its
    printers recognise classes by name, so a function called `Symbol`
    would be printed and pickled as a symbol.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        got = repr(name) if isinstance(name, str) and len(name) <= 40 else f"a {type(name).__name__}"
        raise RuleFileError(f"{where}: {what} is letters, digits and '_', starting with a letter (got {got})")
    if shipped.function(name) is not None:
        raise RuleFileError(f"{where}: already a built-in function ({name!r}); add a [[rule]] for it instead")
    if hasattr(sympy, name) or _printed_specially(name):
        raise RuleFileError(f"{where}: {name!r} is the name of a SymPy class or function; choose another name")


def _printed_specially(name: str) -> bool:
    """Whether a printer has a method for a class of this name (Elementwise, Partial, sigmoid, ...)."""
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.numpy import NumPyPrinter
    from sympy.printing.pretty.pretty import PrettyPrinter
    from sympy.printing.repr import ReprPrinter
    from sympy.printing.str import StrPrinter

    from .render.latex import MatcalcLatexPrinter
    from .render.numpy import _Printer as NumPyExport

    printers = (LatexPrinter, PrettyPrinter, StrPrinter, ReprPrinter, NumPyPrinter, MatcalcLatexPrinter, NumPyExport)
    return any(hasattr(printer, f"_print_{name}") for printer in printers)


def _arities(spec: dict) -> tuple:
    arity = spec.get("arity", 1)
    return tuple(arity) if isinstance(arity, list) else (arity,)


def _validate_function(where: str, spec, shipped: RuleTable, others: set[str]) -> None:
    if not isinstance(spec, dict):
        raise RuleFileError(f"{where}: must be a table such as {{ definition = \"log(1 + exp(u))\" }}")
    unknown = set(spec) - _FUNCTION_FIELDS
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    arity = spec.get("arity", 1)
    counts = arity if isinstance(arity, list) else [arity]
    if not counts or not all(isinstance(a, int) and not isinstance(a, bool) and 1 <= a <= 3 for a in counts):
        raise RuleFileError(f"{where}: field 'arity' must be 1, 2 or 3 (or a list of them)")
    aliases = spec.get("aliases", [])
    if not isinstance(aliases, list):
        raise RuleFileError(f"{where}: field 'aliases' must be a list of names, such as [\"sp\"]")
    for alias in aliases:
        _validate_new_name(f"{where}: field 'aliases'", alias, "an alias", shipped)
        if alias in others:
            raise RuleFileError(f"{where}: field 'aliases': {alias!r} is a function of this file")
    if "kind" in spec and spec["kind"] != "elementwise":
        raise RuleFileError(f"{where}: field 'kind': a rules file defines element-wise functions only")
    if "signatures" in spec:
        raise RuleFileError(f"{where}: field 'signatures' is for the shipped array functions only")
    if "definition" in spec:
        _template(where, "definition", spec["definition"])
    elif "sympy" in spec:
        _validate_sympy_name(where, spec["sympy"], counts)
    else:
        raise RuleFileError(f"{where}: needs a 'definition' (a template in u, v, w) or a 'sympy' function name")


def _validate_sympy_name(where: str, name, counts: list[int]) -> None:
    """`sympy = "..."` names a function of numbers that takes the declared number of arguments."""
    if not isinstance(name, str):
        raise RuleFileError(f"{where}: field 'sympy' must be a string")
    try:
        function = resolve(name)
    except ValueError:
        function = None
    module = getattr(function, "__module__", "") or ""
    if function is None or name in _STRUCTURAL or not (module.startswith("sympy.functions.") or name in
                                                        ("sigmoid", "sqrt", "cbrt")):
        raise RuleFileError(f"{where}: field 'sympy': {name!r} is not a SymPy function of numbers "
                            "(such as erf or besselj)")
    nargs = getattr(function, "nargs", None)
    if isinstance(nargs, sympy.Set) and not all(sympy.Integer(n) in nargs for n in counts):
        raise RuleFileError(f"{where}: field 'arity': {name} does not take {counts} argument(s)")


def _validate_rule(where: str, entry: dict, shipped: RuleTable, arities: dict[str, tuple]) -> None:
    unknown = set(entry) - _RULE_FIELDS
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("id", "op"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise RuleFileError(f"{where}: field '{key}' must be a non-empty string")
    op = entry["op"]
    spec = shipped.function(op)
    if op in OPERATORS:
        allowed = (1,) if op == "neg" else (2,)
    elif spec is not None:
        allowed = spec.arity
    elif op in arities:
        allowed = arities[op]
    else:
        raise RuleFileError(f"{where}: field 'op': unknown function {op!r} "
                            "(define it under [functions] in the same file)")
    if entry.get("generic"):
        raise RuleFileError(f"{where}: field 'generic' is for the shipped tables only")
    partials = entry.get("partials")
    if not isinstance(partials, dict) or not partials:
        raise RuleFileError(f"{where}: field 'partials' must map slots (u, v, w) to templates")
    arity = entry.get("arity")
    if arity is not None and (not isinstance(arity, int) or isinstance(arity, bool) or not 1 <= arity <= 3):
        raise RuleFileError(f"{where}: field 'arity' must be 1, 2 or 3")
    if arity is not None and arity not in allowed:
        raise RuleFileError(f"{where}: field 'arity': {op} takes {' or '.join(map(str, allowed))} argument(s)")
    most = arity if arity is not None else max(allowed)
    for slot, template in partials.items():
        if slot not in SLOTS:
            raise RuleFileError(f"{where}: field 'partials.{slot}': slots are u, v and w")
        if slot not in SLOTS[:most]:
            raise RuleFileError(f"{where}: field 'partials.{slot}': {op} has the slot(s) {', '.join(SLOTS[:most])}")
        _template(where, f"partials.{slot}", template)
    depends = entry.get("depends")
    if depends is not None and (not isinstance(depends, list) or not all(isinstance(d, str) for d in depends)
                                or not set(depends) <= set(SLOTS[:most])):
        raise RuleFileError(f"{where}: field 'depends' must be a list of slots such as [\"u\"]")
    constant = entry.get("constant", {})
    if not isinstance(constant, dict):
        raise RuleFileError(f"{where}: field 'constant' must map slots to constants")
    for slot, value in constant.items():
        if slot not in SLOTS[:most]:
            raise RuleFileError(f"{where}: field 'constant.{slot}': {op} has the slot(s) {', '.join(SLOTS[:most])}")
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


# -- array functions: [array_functions.NAME] ------------------------------------------------------------

_ARRAY_FUNCTION_FIELDS = {"signature", "definition", "vjp", "jacobian", "explain", "source"}
#: names a signature's dimensions cannot take: the formulas read them as something else
_NOT_DIMENSIONS = {*SLOTS, "s", "G", "pi", "E"}


def _validate_array_functions(origin: str, functions, shipped: RuleTable, scalar_names: set[str]) -> None:
    if not isinstance(functions, dict):
        raise RuleFileError(f"{origin}: [array_functions] must be a table of [array_functions.NAME] entries")
    for name, spec in functions.items():
        where = f"{origin}: array function {name!r}"
        _validate_new_name(where, name, "an array function name", shipped)
        if name in scalar_names:
            raise RuleFileError(f"{where}: the file's [functions] has a {name!r} too")
        _validate_array_function(where, spec)


def _validate_array_function(where: str, spec) -> None:
    """Types and slots of one entry; the formulas themselves are read when the table is built."""
    from .operations.user_arrays import parse_signature, signature_problem

    if not isinstance(spec, dict):
        raise RuleFileError(f"{where}: must be a table with signature, definition and vjp.u (formulas in u, v, w)")
    unknown = set(spec) - _ARRAY_FUNCTION_FIELDS
    if unknown:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                            f"(expected {', '.join(sorted(_ARRAY_FUNCTION_FIELDS))})")
    problem = signature_problem(spec.get("signature"), _NOT_DIMENSIONS)
    if problem is not None:
        raise RuleFileError(f"{where}: field 'signature': {problem}")
    signature = spec["signature"]
    slots = SLOTS[:len(parse_signature(signature)[0])] if signature != "same" else SLOTS[:1]
    _formula_text(where, "definition", spec.get("definition"))
    vjps = spec.get("vjp")
    if not isinstance(vjps, dict) or set(vjps) != set(slots):
        raise RuleFileError(f"{where}: field 'vjp' must give the vector-Jacobian product of every slot "
                            f"({', '.join(f'vjp.{s}' for s in slots)}), in terms of {', '.join(slots)}, s and G")
    jacobians = spec.get("jacobian", {})
    if not isinstance(jacobians, dict) or not set(jacobians) <= set(slots):
        raise RuleFileError(f"{where}: field 'jacobian' maps slots ({', '.join(slots)}) to formulas in "
                            f"{', '.join(slots)} and s")
    for kind, formulas in (("vjp", vjps), ("jacobian", jacobians)):
        for slot, text in formulas.items():
            _formula_text(where, f"{kind}.{slot}", text)
    for key in ("explain", "source"):
        if key in spec and not isinstance(spec[key], str):
            raise RuleFileError(f"{where}: field '{key}' must be a string")


def _formula_text(where: str, field: str, text) -> None:
    if not isinstance(text, str) or not text.strip():
        raise RuleFileError(f"{where}: field '{field}' must be a formula in the input language")


def _with_array_functions(table: RuleTable, files: list[tuple[str, dict]]) -> RuleTable:
    """Each [array_functions.NAME], translated and proven, as a function and rules of this table only."""
    from .operations.user_arrays import ArrayFunction, call_class

    functions, jacobians, vjps = dict(table.functions), [], []
    for origin, data in files:
        for name, spec in data.get("array_functions", {}).items():
            where = f"{origin}: array function {name!r}"
            if name in functions or name in table.aliases:
                raise RuleFileError(f"{where}: another rules file already declares {name!r}")
            recipe = ArrayFunction(name, spec["signature"], spec["definition"], tuple(sorted(spec["vjp"].items())),
                                   tuple(sorted(spec.get("jacobian", {}).items())))
            _translate_formulas(where, recipe)
            _prove_array_function(where, recipe)
            operation = call_class(recipe).declaration
            functions[name] = FunctionSpec(name, (recipe.arity,), kind="matrix", signatures=recipe.signatures,
                                           written_definition=recipe.definition, operation=operation)
            lead = spec.get("explain") or name
            source = spec.get("source", "")
            call = f"s = {name}({', '.join(SLOTS[:recipe.arity])})"
            single = recipe.arity == 1
            for slot, text in recipe.vjps:
                explain = (f"{lead}: ∂J/∂{slot} = {text}, with {call} and G = ∂J/∂s (from {origin}, checked "
                           "against finite differences when it was loaded)")
                vjps.append(JacobianRule(name if single else f"{name}-{slot}", name, f"vjp-{slot}", slot=slot,
                                         explain=explain, source=source, origin=origin, operation=operation))
            for slot, text in recipe.jacobians:
                explain = (f"{lead}: ∂s/∂{slot} = {text}, with {call} (from {origin}, checked against finite "
                           "differences when it was loaded)")
                jacobians.append(JacobianRule(name if single else f"{name}-{slot}", name, f"jacobian-{slot}",
                                              slot=slot, explain=explain, source=source, origin=origin,
                                              operation=operation))
    if not jacobians and not vjps:
        return table
    return dataclasses.replace(table, functions=functions, jacobians=(*jacobians, *table.jacobians),
                               vjps=(*vjps, *table.vjps))


def _translate_formulas(where: str, recipe) -> None:
    """Every formula as the package reads it, under every signature: in the input language, reading only
    the slots, s, G and the signature's dimensions, and of the shape the signature promises."""
    from .operations.user_arrays import translation
    from .shapes import show

    for index, signature in enumerate(recipe.signatures):
        for field in recipe.fields():
            if not recipe.applies(field, index):
                if recipe.signature != "same":
                    raise RuleFileError(f"{where}: field '{field}': forward mode's Jacobians are of vectors; "
                                        f"{signature} has a matrix (the VJP serves reverse mode)")
                continue
            text = recipe.formula(field)
            try:
                found = translation(recipe, field, index)
            except MatcalcError as exc:
                raise RuleFileError(f"{where}: field '{field}' = {text!r}: {exc}") from None
            expected = recipe.expected_shape(field, index)
            if tuple(found.shape) != tuple(expected):
                raise RuleFileError(f"{where}: field '{field}' = {text!r} has shape {show(found.shape)} for "
                                    f"{signature}; it must be {show(expected)}")


def _prove_array_function(where: str, recipe) -> None:
    from .arraycheck import verify_array_function

    failure = verify_array_function(recipe)
    if failure is not None:
        raise RuleRejected(f"{where} refused: {failure}")
