"""Array functions a rules file declares (`[array_functions.NAME]`): each one an `Operation` of its own.

A rules file may add an array function whose meaning and derivatives are
formulas in the input language, over the slots u, v, w, the result s and the
upstream gradient G:

    [array_functions.normalize]
    signature = "(n)->(n)"
    definition = "u / norm(u)"
    vjp.u = "(G - s*sum(G*s)) / norm(u)"
    jacobian.u = "(eye(n) - outer(s, s)) / norm(u)"

Everything the shipped declarations write by hand comes from the formulas
here: the shape from the gufunc-style signature ("same": a vector or a matrix,
the result shaped like it), the value and the written-out value (`--expand`)
from the definition as the package translates it, the NumPy code from the
definition as `reference_code` writes it, and the Jacobian and VJP forms from
the formulas translated with the slots, s and G bound to the derivation's own
symbols. `userrules` proves the formulas against finite differences before
any of this is used.

Nothing is put in the process-wide `REGISTRY`: two derivations may read two
files that each declare a `normalize`. A derivation's rule table carries the
operation (its `FunctionSpec.operation` and the `JacobianRule.operation` of
its rules), and an expression carries it in its class, one class per recipe
(the recipe is everything the meaning depends on). Like `userfunctions`, the
classes are pickled by recipe, so a derivation comes back from the forked
child of `timeout=` into a process that never read the file, and the same
recipe is the same class, so rebuilt expressions compare equal and share the
evaluators' caches while different recipes never do.
"""

from __future__ import annotations

import copyreg
import re
from dataclasses import dataclass
from typing import Any

import sympy

from .calls import ArrayCall, ScalarCall
from .registry import Operation

SLOTS = ("u", "v", "w")
#: the names a derivative formula may read besides the slots: the result and the upstream gradient
RESULT, UPSTREAM = "s", "G"
SAME = "same"
#: "same": one vector or one matrix, the result shaped like it
SAME_SIGNATURES = ("(n)->(n)", "(m,n)->(m,n)")
_DIMENSION = r"[A-Za-z][A-Za-z0-9]*"
_PART = rf"\(\s*(?:{_DIMENSION}\s*(?:,\s*{_DIMENSION}\s*)?)?\)"
_SIGNATURE = re.compile(rf"\s*{_PART}(?:\s*,\s*{_PART}){{0,2}}\s*->\s*{_PART}\s*\Z")


def parse_signature(signature: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """`"(m,n),(n)->(m)"` → ((("m", "n"), ("n",)), ("m",)): each operand's dimension names, then the result's."""
    inputs, _, output = signature.partition("->")
    parts = tuple(tuple(d.strip() for d in part.split(",") if d.strip()) for part in re.findall(r"\(([^)]*)\)", inputs))
    return parts, tuple(d.strip() for d in output.strip().strip("()").split(",") if d.strip())


def signature_problem(signature: Any, reserved: set[str]) -> str | None:
    """Why `signature` cannot declare an array function (None when it can).

    One to three operands (the slots u, v, w) of at most two dimensions; the
    result's dimensions come from the operands'; at least one operand is an
    array (a function of scalars is a `[functions]` entry with a `[[rule]]`);
    dimension names are not the formulas' other names (u, v, w, s, G).
    """
    if signature == SAME:
        return None
    if not isinstance(signature, str) or not _SIGNATURE.match(signature):
        return ('write it as "same" or gufunc-style, one to three operands of at most two dimensions, '
                'such as "(n)->(n)", "(m,n),(n)->(m)" or "(n)->()"')
    inputs, output = parse_signature(signature)
    names = {d for part in inputs for d in part}
    if not names:
        return "at least one operand must be an array (a function of scalars is a [functions] entry with a [[rule]])"
    missing = [d for d in output if d not in names]
    if missing:
        return f"the result's dimension {missing[0]!r} is no operand's"
    clash = sorted(names & reserved)
    if clash:
        return f"{clash[0]!r} cannot name a dimension: it is a slot, s, G or a function of the input language"
    return None


@dataclass(frozen=True)
class ArrayFunction:
    """A rules file's array function as written: everything its meaning depends on (its recipe)."""

    name: str
    signature: str
    definition: str
    #: (slot, formula) pairs: ∂J/∂slot in terms of the slots, s and G
    vjps: tuple[tuple[str, str], ...]
    #: (slot, formula) pairs: ∂s/∂slot (numerator layout) in terms of the slots and s, for forward mode
    jacobians: tuple[tuple[str, str], ...] = ()

    @property
    def signatures(self) -> tuple[str, ...]:
        return SAME_SIGNATURES if self.signature == SAME else (self.signature,)

    @property
    def arity(self) -> int:
        return len(parse_signature(self.signatures[0])[0])

    @property
    def scalar_valued(self) -> bool:
        return not parse_signature(self.signatures[0])[1]

    def formula(self, field: str) -> str | None:
        """The text of a field: "definition", "vjp.u", "jacobian.v", …; None when the file has none."""
        if field == "definition":
            return self.definition
        kind, _, slot = field.partition(".")
        return dict(self.vjps if kind == "vjp" else self.jacobians).get(slot)

    def fields(self) -> list[str]:
        return ["definition", *(f"vjp.{slot}" for slot, _ in self.vjps),
                *(f"jacobian.{slot}" for slot, _ in self.jacobians)]

    def applies(self, field: str, index: int) -> bool:
        """Whether `field` has a meaning under signature `index`: a forward-mode Jacobian needs a vector
        (or scalar) operand and result, so that it is a matrix."""
        if not field.startswith("jacobian."):
            return True
        inputs, output = parse_signature(self.signatures[index])
        return len(output) <= 1 and len(inputs[SLOTS.index(field.partition(".")[2])]) <= 1

    def shapes(self, field: str, index: int) -> dict[str, tuple]:
        """The NumPy shape of every name `field` may read under signature `index` (dimension symbols)."""
        from ..shapes import dimension

        inputs, _ = parse_signature(self.signatures[index])
        shapes = {slot: tuple(dimension(d) for d in part) for slot, part in zip(SLOTS, inputs)}
        if field.startswith(("vjp.", "jacobian.")):
            shapes[RESULT] = self.result_shape(index)
        if field.startswith("vjp."):
            shapes[UPSTREAM] = self.result_shape(index)
        return shapes

    def result_shape(self, index: int) -> tuple:
        """The NumPy shape of the function's value under signature `index` (dimension symbols)."""
        from ..shapes import dimension

        return tuple(dimension(d) for d in parse_signature(self.signatures[index])[1])

    def expected_shape(self, field: str, index: int) -> tuple:
        """The NumPy shape `field`'s value must have: the result's, the slot's (a VJP), or the result's
        dimensions then the slot's (a Jacobian)."""
        if field == "definition":
            return self.result_shape(index)
        shapes = self.shapes(field, index)
        slot = field.partition(".")[2]
        return shapes[slot] if field.startswith("vjp.") else shapes[RESULT] + shapes[slot]

    def signature_index(self, arg_shapes) -> int:
        """Which signature operands of these NumPy shapes fit (the first)."""
        from ..errors import ShapeError
        from ..shapes import match_signature

        for index, signature in enumerate(self.signatures):
            if match_signature(signature, list(arg_shapes)) is not None:
                return index
        raise ShapeError(f"{self.name}() does not take operands of shapes {list(arg_shapes)}")

    def dimensions(self, index: int, arg_shapes) -> dict:
        """Each dimension symbol of signature `index` mapped to the operands' actual dimension."""
        from ..shapes import dimension

        inputs, _ = parse_signature(self.signatures[index])
        return {dimension(d): actual for part, shape in zip(inputs, arg_shapes) for d, actual in zip(part, shape)}


@dataclass(frozen=True)
class Translation:
    """A formula as the package translates it: a SymPy expression in placeholder symbols."""

    expr: sympy.Basic
    #: the value's NumPy shape (in the signature's dimension symbols)
    shape: tuple
    #: name → the placeholder symbol standing for it (u, v, w, s, G)
    placeholders: dict[str, sympy.Basic]


_TRANSLATIONS: dict[tuple[ArrayFunction, str, int], Translation] = {}


def translation(recipe: ArrayFunction, field: str, index: int) -> Translation:
    """`field` of `recipe` under signature `index`, translated once per process.

    The formula is parsed with the shipped functions only and the slots (and
    s, G) declared with the signature's shapes, then introduced like any
    input; its full expression is what the forms bind to the derivation's
    symbols. A name other than those is refused (a `MatcalcError`).
    """
    key = (recipe, field, index)
    found = _TRANSLATIONS.get(key)
    if found is None:
        found = _TRANSLATIONS[key] = _translate(recipe.formula(field), recipe.shapes(field, index))
    return found


def _translate(text: str, shapes: dict[str, tuple]) -> Translation:
    from ..errors import ParseError
    from ..graph import introduce, make_symbol
    from ..parse import parse
    from ..ruletable import default_table
    from ..treeshape import sympy_defaults

    with sympy_defaults():
        program = parse(text, shapes, default_table())
        unknown = sorted(set(program.variables) - set(shapes))
        if unknown:
            readable = ", ".join(shapes)
            raise ParseError(f"it reads {unknown[0]!r}, which is none of {readable} (nor a dimension of the signature)")
        graph = introduce(program)
        expr = graph.full[graph.output]
    return Translation(expr, program.output.shape, {name: make_symbol(name, shape) for name, shape in shapes.items()})


def bound(recipe: ArrayFunction, field: str, index: int, arg_shapes, operands, result, grad=None) -> sympy.Basic:
    """`field` with its slots, s and G replaced by the derivation's operands, result and upstream gradient,
    and the signature's dimensions by the operands' own."""
    found = translation(recipe, field, index)
    mapping = dict(recipe.dimensions(index, arg_shapes))
    for name, operand in zip(SLOTS, operands):
        mapping[found.placeholders[name]] = operand
    if RESULT in found.placeholders:
        mapping[found.placeholders[RESULT]] = result
    if UPSTREAM in found.placeholders:
        mapping[found.placeholders[UPSTREAM]] = grad
    return found.expr.xreplace(mapping)


# -- the operation's parts, each made from the formulas -------------------------------------------------


def _build(recipe: ArrayFunction):
    def build(args, arg_shapes, shape, params):
        params = {"signature": recipe.signature_index(arg_shapes)}
        cls = call_class(recipe)
        if recipe.scalar_valued:
            return cls(recipe.name, args, params)
        return cls(recipe.name, args, params, shape[0], shape[1] if len(shape) == 2 else sympy.Integer(1))
    return build


def _value(recipe: ArrayFunction):
    """The definition as the package translates it, evaluated like any expression (stored forms in and out)."""
    def value(np, values, expr):
        from ..numeric import evaluate_expression

        found = translation(recipe, "definition", expr.params["signature"])
        slots = SLOTS[:recipe.arity]
        return evaluate_expression(found.expr, dict(zip(slots, values)), {s: found.placeholders[s] for s in slots})
    return value


def _explicit(recipe: ArrayFunction):
    """The translated definition written out entry by entry, with the operands' entries for the slots."""
    def explicit(values, expr):
        from types import SimpleNamespace

        from ..expand import _Explicit
        from ..shapes import dimension

        index = expr.params["signature"]
        found = translation(recipe, "definition", index)
        inputs, _ = parse_signature(recipe.signatures[index])
        dims = {dimension(d): sympy.Integer(size) for part, matrix in zip(inputs, values)
                for d, size in zip(part, matrix.shape)}
        writer = _Explicit(SimpleNamespace(symbols={}, definitions={}), 1)
        for slot, matrix in zip(SLOTS, values):
            placeholder = found.placeholders[slot].xreplace(dims)
            if isinstance(placeholder, sympy.MatrixSymbol):
                writer.env[placeholder] = matrix
            else:
                writer.scalars[placeholder] = matrix[0, 0] if isinstance(matrix, sympy.MatrixBase) else matrix
        return writer.value(found.expr.xreplace(dims))
    return explicit


def _code(recipe: ArrayFunction):
    """NumPy source: the definition as `reference_code` writes it, inside a comprehension that binds each
    operand once (`[... for (_u,) in [(operand,)]][0]`), from and back to stored forms."""
    def code(codes, expr, np):
        from ..errors import DeriveError
        from ..reference_code import numpy_statements

        inputs, output = parse_signature(recipe.signatures[expr.params["signature"]])
        names = [f"_{slot}" for slot in SLOTS[:recipe.arity]]
        sizes: dict[str, str] = {}
        for name, part in zip(names, inputs):
            for axis, d in enumerate(part):
                sizes.setdefault(d, f"{np('shape')}({name})[{axis}]")
        own = dict(zip(SLOTS, names)) | sizes

        def name_of(name: str) -> str:
            if name not in own:
                raise DeriveError(f"code export: {recipe.name}'s definition reads {name!r}")
            return own[name]

        lines = numpy_statements(recipe.definition, name_of)
        if len(lines) != 1:
            raise DeriveError(f"code export: {recipe.name}'s definition nests too deeply to be one expression")
        body = lines[0][1]
        if len(output) == 1:
            body = f"{np('reshape')}({body}, (-1, 1))"  # a 1-D result is stored as a column
        arguments = [f"{np('ravel')}({c})" if len(part) == 1 else c for c, part in zip(codes, inputs)]
        # a comprehension, not next(): an input may be called `next`, and only `_` names are the module's own
        return f"[{body} for ({', '.join(names)},) in [({', '.join(arguments)},)]][0]"
    return code


def _vjp_form(recipe: ArrayFunction, slot: str):
    """∂J/∂slot: the file's formula with u, v, w, s and G bound (reverse mode)."""
    def vjp(c):
        node = c.node
        arg_shapes = [a.shape for a in node.args]
        index = recipe.signature_index(arg_shapes)
        operands = [c.arg(i) for i in range(len(node.args))]
        return bound(recipe, f"vjp.{slot}", index, arg_shapes, operands, c.symbol_of[node], c.grad)
    return vjp


def _jacobian_form(recipe: ArrayFunction):
    """∂s/∂p in numerator layout (forward mode): the file's Jacobian of every slot p fills, added."""
    def jacobian(c):
        from ..errors import DeriveError

        node = c.node
        arg_shapes = [a.shape for a in node.args]
        index = recipe.signature_index(arg_shapes)
        operands = [c.operand(i) for i in range(len(node.args))]
        terms = []
        for slot, arg in zip(SLOTS, node.args):
            if arg is not c.parameter:
                continue
            field = f"jacobian.{slot}"
            if recipe.formula(field) is None or not recipe.applies(field, index):
                raise DeriveError(f"{recipe.name}() has no Jacobian for its slot {slot} (jacobian.{slot} in its "
                                  "rules file); derive it with mode='reverse'")
            value = bound(recipe, field, index, arg_shapes, operands, c.symbol_of[node])
            terms.append(sympy.Transpose(value) if not node.shape and arg.shape else value)  # a gradient is a row
        return terms[0] if len(terms) == 1 else sympy.MatAdd(*terms)
    return jacobian


def operation_of(recipe: ArrayFunction) -> Operation:
    """The declaration of `recipe` (not registered anywhere: a rule table or an expression carries it)."""
    return Operation(
        recipe.name, arity=(recipe.arity,), signatures=recipe.signatures, kind="matrix",
        build=_build(recipe), value=_value(recipe), code=_code(recipe), explicit=_explicit(recipe),
        jacobians={f"jacobian-{slot}": _jacobian_form(recipe) for slot, _ in recipe.jacobians},
        vjps={f"vjp-{slot}": _vjp_form(recipe, slot) for slot, _ in recipe.vjps},
    )


# -- one class per recipe, pickled by recipe -----------------------------------------------------------


class UserCallClass(type):
    """Metaclass of rules-file array functions: pickled by recipe, not by module and name."""


class UserCall:
    """Mixed into each recipe's class, before `ArrayCall` or `ScalarCall`."""

    recipe: ArrayFunction
    declaration: Operation

    def _shown_params(self) -> list:
        return []  # the signature the operands matched is bookkeeping, not an argument anyone wrote


_CLASSES: dict[ArrayFunction, UserCallClass] = {}


def call_class(recipe: ArrayFunction) -> UserCallClass:
    """The SymPy class of `recipe`'s applications (the same class for the same recipe, in each process)."""
    known = _CLASSES.get(recipe)
    if known is None:
        base = ScalarCall if recipe.scalar_valued else ArrayCall
        known = UserCallClass(recipe.name, (UserCall, base), {
            "__module__": __name__, "recipe": recipe, "declaration": operation_of(recipe)})
        _CLASSES[recipe] = known
    return known


def _reduce_class(cls: UserCallClass):
    return call_class, (cls.recipe,)


copyreg.pickle(UserCallClass, _reduce_class)
