"""matcalc-sym: derivatives derived step by step, as Parr & Howard teach them."""

from .api import derive
from .errors import CheckFailed, DeriveError, LimitExceeded, MatcalcError, ParseError, ShapeError

__all__ = [
    "CheckFailed",
    "DeriveError",
    "LimitExceeded",
    "MatcalcError",
    "ParseError",
    "ShapeError",
    "__version__",
    "derive",
]
__version__ = "0.1.0"
