"""Array operations, each declared once (see `registry`).

Importing this package imports every module in it, and each module
registers its operations: a new operation is a new module here (plus its
rule entries in rules/ and its NumPy meaning in `reference`), nothing else.
"""

import importlib
import pkgutil

from .registry import (
    REGISTRY,
    Operation,
    composition,
    find_rule,
    form,
    of,
    operation,
    operation_classes,
    register,
    scalar_classes,
)

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["REGISTRY", "Operation", "composition", "find_rule", "form", "of", "operation", "operation_classes", "register",
           "scalar_classes"]
