"""Two SymPy packages imported on first real use, not on the first sum or product.

SymPy asks, deep inside hot functions, whether an expression holds an object
from a package it has not loaded yet, and imports the package to ask:
`Add.flatten` imports `sympy.tensor.tensor` (and with it the combinatorics
package, 0.02 s) for `TensExpr`; `simplify()` and the pretty printer's
`_print_Mul` import `sympy.physics.units` (the whole SI system, 0.12 s) for
`Quantity`. Together that is a third of the `derive` command's start-up.

In a process that has not imported a package, none of its objects can exist, so
until then the question is answered by a class with no instances. Asking the
stand-in module for any other name imports the real package, which from then
on answers every question, the stand-in classes included.

Installed only in the command's forked child (`cli.derive_command`), which runs
no code but ours and is discarded after one derivation.
"""

from __future__ import annotations

import importlib
import sys
import types

import sympy

#: module → the names SymPy imports from it only for isinstance checks
DEFERRED = {
    "sympy.physics.units": ("Quantity",),
    "sympy.tensor.tensor": ("TensExpr", "TensAdd"),
}


class DeferredModule(types.ModuleType):
    """A stand-in: the listed classes answer at once, any other name loads the real module."""

    def __init__(self, name: str, class_names: tuple[str, ...]) -> None:
        super().__init__(name)
        for class_name in class_names:  # no instance of these can exist before the real module loads
            setattr(self, class_name, type(class_name, (sympy.Basic,), {"__module__": __name__}))

    def __getattr__(self, name: str):
        if name.startswith("__"):  # the import system's own probes (__path__, __spec__) load nothing
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)  # later lookups, the stand-in classes too, see the real module
        return getattr(real, name)


def defer_imports() -> None:
    """Put the stand-ins in place, except for a module that is already loaded."""
    for name, class_names in DEFERRED.items():
        if name not in sys.modules:
            stand_in = sys.modules[name] = DeferredModule(name, class_names)
            parent, _, child = name.rpartition(".")
            setattr(importlib.import_module(parent), child, stand_in)  # so `import sympy.physics.units as u` works
