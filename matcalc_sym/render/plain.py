"""Plain text without rich: the terminal's blocks laid out by hand, the same characters rich prints.

`--format text` (and `Derivation.to_text()`, `str(derivation)`) is the
terminal layout with no colour. Importing rich for it cost about 0.03 s of a
0.4 s command, so the blocks are described once (`Para`, `Laid`, `Box`, built
by `terminal.blocks`) and laid out twice: by rich for a terminal
(`terminal.renderables`), and here for plain text. The rules below are
rich's own for what the terminal uses — words wrap greedily, keeping the
spaces that follow a word; unwrapped lines are cropped; a panel's lines are
padded to its width between `│ ` and ` │`, its title set into the top border —
and tests/test_plain_layout.py holds the two to the same output.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Para:
    """Text: each `runs` line is (text, style) pieces; `wrap` word-wraps it (else each line is cropped)."""

    lines: tuple[tuple[tuple[str, str | None], ...], ...]
    wrap: bool = True
    style: str | None = None

    @classmethod
    def of(cls, text: str, style: str | None = None, wrap: bool = True) -> Para:
        return cls(tuple(((line, None),) for line in text.split("\n")), wrap, style)

    @property
    def plain(self) -> str:
        return "\n".join("".join(text for text, _ in line) for line in self.lines)


@dataclass(frozen=True)
class Laid:
    """Lines laid out already (folded to the width when made): each line (text, style) runs, cropped."""

    lines: list


@dataclass(frozen=True)
class Box:
    """A titled panel around `items`; `double` draws ╔═╗ (the result), else ╭─╮."""

    title: str
    items: tuple
    double: bool = False
    style: str | None = None
    border_style: str | None = None


_ROUNDED = ("╭", "─", "╮", "│", "│", "╰", "─", "╯")
_DOUBLE = ("╔", "═", "╗", "║", "║", "╚", "═", "╝")
_WORD = re.compile(r"\s*\S+\s*")


@lru_cache(maxsize=4096)
def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf") or char in "\u200b":
        return 0
    if ord(char) < 32 or 0x7F <= ord(char) < 0xA0:
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cell_len(text: str) -> int:
    """Terminal cells `text` takes (wide characters two, combining marks none)."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def set_cell_size(text: str, width: int) -> str:
    """`text` cropped or padded with spaces to exactly `width` cells."""
    size = cell_len(text)
    if size == width:
        return text
    if size < width:
        return text + " " * (width - size)
    kept, used = [], 0
    for char in text:
        w = _char_width(char)
        if used + w > width:
            break
        kept.append(char)
        used += w
    return "".join(kept) + " " * (width - used)


def _chop(word: str, width: int) -> list[str]:
    """A word longer than the width, in pieces of at most `width` cells."""
    pieces, current, used = [], [], 0
    for char in word:
        w = _char_width(char)
        if current and used + w > width:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += w
    if current:
        pieces.append("".join(current))
    return pieces


def _break_positions(text: str, width: int) -> list[int]:
    """Where greedy word wrapping breaks `text` (rich's rule: a word longer than a line is folded)."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        length = cell_len(word.rstrip())
        if width - offset >= length:
            offset += cell_len(word)
        elif length > width:
            pieces = _chop(word, width)
            for number, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if number == len(pieces) - 1:
                    offset = cell_len(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = cell_len(word)
    return breaks


def _rstrip_beyond(line: str, width: int) -> str:
    """Trailing whitespace removed only where the line runs past the width (in characters, as rich counts)."""
    excess = len(line) - width
    if excess <= 0:
        return line
    trailing = len(line) - len(line.rstrip())
    return line[: len(line) - min(trailing, excess)]


def wrap(text: str, width: int) -> list[str]:
    """`text` word-wrapped to `width` cells, line by line, as rich wraps a `Text`."""
    out: list[str] = []
    for line in text.split("\n"):
        cuts = [0, *_break_positions(line, width), len(line)]
        for start, end in zip(cuts, cuts[1:]):
            piece = _rstrip_beyond(line[start:end], width)
            out.append(piece if cell_len(piece) <= width else set_cell_size(piece, width))
    return out


def para_lines(para: Para, width: int) -> list[str]:
    if para.wrap:
        return wrap(para.plain, width)
    return [set_cell_size(line, width) if cell_len(line) > width else line for line in para.plain.split("\n")]


def item_lines(item, width: int) -> list[str]:
    """An item of a block, as lines of at most `width` cells."""
    if isinstance(item, Para):
        return para_lines(item, width)
    if isinstance(item, Laid):
        lines = ["".join(text for text, _ in runs) for runs in item.lines]
        return [set_cell_size(line, width) if cell_len(line) > width else line for line in lines]
    if isinstance(item, Box):
        return box_lines(item, width)
    raise TypeError(f"no plain layout for {type(item).__name__}")


def box_lines(box: Box, width: int) -> list[str]:
    """A panel as wide as `width`: the title set into the top border, the items padded inside."""
    tl, top, tr, left, right, bl, bottom, br = _DOUBLE if box.double else _ROUNDED
    inner = width - 4
    title = " " + " ".join(box.title.split("\n")) + " "
    if cell_len(title) > inner:
        title = set_cell_size(title, inner)
    lines = [tl + top + title + top * (inner - cell_len(title)) + top + tr]
    for item in box.items:
        for line in item_lines(item, inner):
            lines.append(f"{left} {set_cell_size(line, inner)} {right}")
    lines.append(bl + bottom * (width - 2) + br)
    return lines


def render_plain(items, width: int) -> str:
    """Top-level items one after another, each ending its last line."""
    return "".join(line + "\n" for item in items for line in item_lines(item, width))
