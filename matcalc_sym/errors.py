"""Exception classes: one line each, so every failure reads as a sentence.

Every error a user can provoke is a `MatcalcError`; the command line turns it
into one `error:` line and an exit status, and never shows a traceback.
"""

from __future__ import annotations


class MatcalcError(Exception):
    """Base of every error the package raises on purpose."""

    exit_code = 2


class _Located(MatcalcError):
    """An error at a place in the input: the message, the column and the text, for a caret."""

    def __init__(self, message: str, column: int | None = None, text: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.text = text

    def __reduce__(self):
        return (type(self), (self.message, self.column, self.text))

    def caret(self) -> str:
        """The offending line of the input with a caret under the column."""
        if self.text is None or self.column is None:
            return ""
        line_start = max(self.text.rfind("\n", 0, self.column), self.text.rfind("\r", 0, self.column)) + 1
        ends = [i for i in (self.text.find("\n", self.column), self.text.find("\r", self.column)) if i >= 0]
        line = self.text[line_start : min(ends, default=len(self.text))]
        if len(line) > 200:
            return ""
        line = line.replace("\t", " ")  # one column per character, so the caret lines up
        return f"  {line}\n  {' ' * (self.column - line_start)}^"

    def __str__(self) -> str:
        if self.column is None:
            return self.message
        return f"{self.message} (column {self.column + 1})"


class ParseError(_Located):
    """The input is not an expression of the input language."""


class ShapeError(_Located):
    """Operands whose shapes do not fit the operator."""


class DeriveError(MatcalcError):
    """A well-formed request that cannot be derived (e.g. unknown `wrt`)."""


class LimitExceeded(MatcalcError):
    """A computation ran out of its time or memory budget."""

    exit_code = 4

    def __init__(self, message: str, stage: str = "derive"):
        super().__init__(message)
        self.stage = stage

    def __reduce__(self):
        return (type(self), (str(self), self.stage))


class CheckFailed(MatcalcError):
    """A requested verification disagreed with the derivation."""

    exit_code = 3


class InternalError(MatcalcError):
    """A bug in this package, not a mistake in the input: its own exit status, and a request to report it."""

    exit_code = 70


class Interrupted(MatcalcError):
    """The user pressed Ctrl-C (SIGINT): the conventional status 128 + 2."""

    exit_code = 130


class OutputError(MatcalcError):
    """The output could not be written (a full disk, a file-size limit); sysexits' EX_IOERR."""

    exit_code = 74
