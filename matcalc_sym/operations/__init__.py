"""Array operations, each declared once (see `registry`); importing this package declares them all."""

from . import linalg, reductions, softmax, structure  # noqa: F401 - each module registers its operations
from .registry import (
    REGISTRY,
    Operation,
    find_rule,
    form,
    of,
    operation,
    operation_classes,
    register,
    scalar_classes,
)

__all__ = ["REGISTRY", "Operation", "find_rule", "form", "of", "operation", "operation_classes", "register",
           "scalar_classes"]
