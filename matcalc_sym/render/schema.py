"""JSON schema version 1 of `Derivation.to_dict()`, and a small validator for it.

The schema is standard JSON Schema (draft 2020-12 keywords only: type,
required, properties, additionalProperties, items, enum, const), so any
validator accepts it; `validate` implements just those keywords so the
project needs no extra dependency to check its own output.
"""

from __future__ import annotations

from typing import Any

_EXPRESSION = {
    "type": "object",
    "required": ["latex", "srepr", "text"],
    "properties": {"latex": {"type": "string"}, "srepr": {"type": "string"}, "text": {"type": "string"}},
    "additionalProperties": False,
}
_MAYBE_EXPRESSION = {"type": ["object", "null"], **{k: v for k, v in _EXPRESSION.items() if k != "type"}}
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}

STEP = {
    "type": "object",
    "required": ["kind", "rule", "explanation", "wrt", "lhs", "formula", "rhs", "shapes"],
    "properties": {
        "kind": {"enum": ["introduce", "differentiate", "combine", "substitute", "simplify", "gradient"]},
        "rule": {"type": "string"},
        "explanation": {"type": "string"},
        "wrt": {"type": ["string", "null"]},
        "lhs": _EXPRESSION,
        "formula": _MAYBE_EXPRESSION,
        "rhs": _EXPRESSION,
        "shapes": _STRINGS,
    },
    "additionalProperties": False,
}

#: a "gradient" step (stage 1 of a second derivative, collapsed) carries the gradient's own steps; added within
#: schema 1, so a reader must not require it
STEP["properties"]["steps"] = {"type": "array", "items": {**STEP, "properties": dict(STEP["properties"])}}

#: a second derivative (hessian=True, hvp=True); added within schema 1, absent from first derivatives
SECOND = {
    "type": ["object", "null"],
    "required": ["kind", "gradient", "gradient_text", "direction", "result_text"],
    "properties": {
        "kind": {"enum": ["hessian", "hvp"]},
        "gradient": _EXPRESSION,
        "gradient_text": {"type": "string"},
        "direction": {"type": ["string", "null"]},
        "result_text": {"type": ["string", "null"]},
        "hessian_entries": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}

EXPANSION_BLOCK = {
    "type": "object",
    "required": ["wrt", "compared", "jacobian", "vector_result", "equal"],
    "properties": {
        "wrt": {"type": "string"},
        "compared": {"type": "string"},
        "jacobian": _EXPRESSION,
        "vector_result": _EXPRESSION,
        "equal": {"type": "boolean"},
    },
    "additionalProperties": False,
}

#: `blocks` and `upstream` came later within schema 1, so a reader must not require them
EXPANSION = {
    "type": ["object", "null"],
    "required": ["size", "components", "jacobian", "vector_result", "equal"],
    "properties": {
        "size": {"type": "integer"},
        "components": _EXPRESSION,
        "jacobian": _EXPRESSION,
        "vector_result": _EXPRESSION,
        "equal": {"type": "boolean"},
        "upstream": {"type": ["string", "null"]},
        "blocks": {"type": "array", "items": EXPANSION_BLOCK},
    },
    "additionalProperties": False,
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "matcalc-sym derivation, schema 1",
    "type": "object",
    "required": ["schema", "input", "output", "wrt", "shapes", "layout", "chain_rule", "expression",
                 "result", "notes", "steps", "expansion", "gradients", "check"],
    "properties": {
        "schema": {"const": 1},
        "input": {"type": "string"},
        "output": {"type": "string"},
        "wrt": {"type": "array", "items": {"type": "string"}},
        "shapes": _STRINGS,
        "layout": {"enum": ["numerator", "denominator"]},
        "chain_rule": {"enum": ["single-variable", "total-derivative", "vector", "backprop", "hessian"]},
        "expression": _EXPRESSION,
        "result": _EXPRESSION,
        "notes": {"type": "array", "items": {"type": "string"}},
        "steps": {"type": "array", "items": STEP},
        "expansion": EXPANSION,
        "gradients": {"type": "object", "additionalProperties": _EXPRESSION},
        "check": {
            "type": ["object", "null"],
            "required": ["passed", "compared", "points", "max_error", "steps_verified", "steps_total", "failure"],
            "properties": {
                "passed": {"type": "boolean"},
                "compared": {"type": "array", "items": {"type": "string"}},
                "points": {"type": "integer"},
                "max_error": {"type": ["number", "null"]},
                "steps_verified": {"type": "integer"},
                "steps_total": {"type": "integer"},
                "failure": {"type": ["string", "null"]},
            },
            "additionalProperties": False,
        },
        "second": SECOND,
        "answer": {
            "type": ["object", "null"],
            "required": ["answer", "correct", "diagnosis", "step"],
            "properties": {
                "answer": {"type": "string"},
                "correct": {"type": "boolean"},
                "diagnosis": {"type": "string"},
                "step": {"type": ["integer", "null"]},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

_TYPES = {"object": dict, "array": list, "string": str, "null": type(None), "boolean": bool,
          "integer": int, "number": (int, float)}


def errors(instance: Any, schema: dict[str, Any] = SCHEMA, path: str = "$") -> list[str]:
    """Every place `instance` breaks `schema`, as 'path: problem' lines (empty when valid)."""
    found: list[str] = []
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(isinstance(instance, _TYPES[k]) and not (k in ("integer", "number") and isinstance(instance, bool))
                   for k in kinds):
            return [f"{path}: expected {' or '.join(kinds)}, got {type(instance).__name__}"]
    if "const" in schema and instance != schema["const"]:
        found.append(f"{path}: expected {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        found.append(f"{path}: {instance!r} is not one of {schema['enum']}")
    if isinstance(instance, dict):
        found += [f"{path}: missing {key!r}" for key in schema.get("required", []) if key not in instance]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, value in instance.items():
            if key in properties:
                found += errors(value, properties[key], f"{path}.{key}")
            elif extra is False:
                found.append(f"{path}: unexpected {key!r}")
            elif isinstance(extra, dict):
                found += errors(value, extra, f"{path}.{key}")
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            found += errors(item, schema["items"], f"{path}[{index}]")
    return found
