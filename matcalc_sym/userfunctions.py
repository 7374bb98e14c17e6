"""Functions defined in a rules file, made into real SymPy functions.

A `[functions.NAME]` entry with a `definition` and a `[[rule]]` for NAME is a
function of its own: `softplus(x)` must display as softplus, and the user's
rule must be the one that fires. Expanding the definition inline (what a
shorthand like `relu` does) would make the rule dead text. So each such
function becomes a `sympy.Function` subclass whose derivative is the rule's
template and whose numbers come from the definition.

The classes are created at run time, but derivations travel between processes
(`sandbox.run_limited` pickles them back from a forked child, where the rules
file was read). Pickle stores classes by module and name, which a dynamic class
does not have; a `copyreg` reducer for their metaclass rebuilds the class from
its recipe instead, and a registry keyed by the recipe keeps one class per
recipe in each process, so rebuilt expressions compare equal.
"""

from __future__ import annotations

import copyreg
from collections.abc import Callable

import sympy
from sympy.core.function import FunctionClass

_PLACEHOLDERS = tuple(sympy.Symbol(slot, real=True) for slot in ("u", "v", "w"))


class UserFunctionClass(FunctionClass):
    """Metaclass of rules-file functions: pickled by recipe, not by name."""


class UserFunction(sympy.Function, metaclass=UserFunctionClass):
    """Base of every rules-file function; subclasses carry their recipe."""

    _recipe: tuple = ()
    _definition: sympy.Expr = sympy.Integer(0)
    _partials: tuple[sympy.Expr | None, ...] = ()

    def expanded(self) -> sympy.Expr:
        """This application with the definition put in (what the checks compare against)."""
        bindings = dict(zip(_PLACEHOLDERS, self.args))
        return self._definition.xreplace(bindings)

    def fdiff(self, argindex: int = 1):
        template = self._partials[argindex - 1] if argindex <= len(self._partials) else None
        if template is None:
            return sympy.diff(self._definition, _PLACEHOLDERS[argindex - 1]).xreplace(
                dict(zip(_PLACEHOLDERS, self.args)))
        return template.xreplace(dict(zip(_PLACEHOLDERS, self.args)))

    def _eval_evalf(self, prec):
        return self.expanded()._eval_evalf(prec)

    def _eval_is_real(self):
        return self.expanded().is_real


_REGISTRY: dict[tuple, UserFunctionClass] = {}


def user_function(
    name: str, arity: int, definition: sympy.Expr, partials: tuple[sympy.Expr | None, ...]
) -> UserFunctionClass:
    """The SymPy function class for this recipe (the same class for the same recipe).

    `definition` and `partials` are expressions in the placeholders u, v, w;
    a missing partial (None) falls back to differentiating the definition.
    """
    recipe = (name, arity, definition, tuple(partials))
    known = _REGISTRY.get(recipe)
    if known is not None:
        return known
    cls = UserFunctionClass(name, (UserFunction,), {
        "nargs": arity,
        "_recipe": recipe,
        "_definition": definition,
        "_partials": tuple(partials),
        "_imp_": staticmethod(_numeric(definition, arity)),
        "__module__": __name__,
    })
    _REGISTRY[recipe] = cls
    return cls


def _numeric(definition: sympy.Expr, arity: int) -> Callable:
    """NumPy evaluation through the definition (lambdify picks this up as `_imp_`)."""
    compiled: list[Callable] = []

    def evaluate(*args):
        if not compiled:
            compiled.append(sympy.lambdify(_PLACEHOLDERS[:arity], definition, modules="numpy"))
        return compiled[0](*args)

    return evaluate


def expand_user_functions(expr: sympy.Basic) -> sympy.Basic:
    """`expr` with every rules-file function replaced by its definition."""
    return expr.replace(lambda e: isinstance(e, UserFunction), lambda e: e.expanded())


def _reduce_class(cls: UserFunctionClass):
    if cls is UserFunction:
        return "UserFunction"
    return user_function, cls._recipe


copyreg.pickle(UserFunctionClass, _reduce_class)
