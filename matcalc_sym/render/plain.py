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
    if all(_char_width(char) == 1 for char in set(text)):  # box lines and most mathematics: no char to weigh
        return len(text)
    return sum(map(_char_width, text))


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


Runs = list  # one line as (text, style) pieces; the style a rich style string or None


def _with(outer: str | None, inner: str | None) -> str | None:
    """Two rich style strings as one, the inner one's attributes winning (rich's `outer + inner`)."""
    kept = [style for style in (outer, inner) if style and style != "none"]
    return " ".join(kept) if kept else None


def _crop_runs(runs, width: int, style: str | None) -> Runs:
    """A line's runs cut at `width` cells (rich crops an unwrapped line), each in `style` under its own."""
    out: Runs = []
    room = width
    for text, own in runs:
        if room <= 0:
            break
        size = cell_len(text)
        if size > room:
            text, size = set_cell_size(text, room), room
        if text:
            out.append((text, _with(style, own)))
        room -= size
    return out


def para_runs(para: Para, width: int) -> list[Runs]:
    if para.wrap:
        return [[(line, para.style)] for line in wrap(para.plain, width)]
    return [_crop_runs(line, width, para.style) for line in para.lines]


def item_runs(item, width: int) -> list[Runs]:
    """An item of a block, as lines of at most `width` cells, each a list of (text, style) runs."""
    if isinstance(item, Para):
        return para_runs(item, width)
    if isinstance(item, Laid):
        return [_crop_runs(runs, width, None) for runs in item.lines]
    if isinstance(item, Box):
        return box_runs(item, width)
    raise TypeError(f"no plain layout for {type(item).__name__}")


def box_runs(box: Box, width: int) -> list[Runs]:
    """A panel as wide as `width`: the title set into the top border, the items padded inside.

    As rich draws a panel: the border and title in the border style over the
    panel's, every inside cell (padding included) in the panel's style under
    the item's own.
    """
    tl, top, tr, left, right, bl, bottom, br = _DOUBLE if box.double else _ROUNDED
    inner = width - 4
    border = _with(box.style, box.border_style)
    title = " " + " ".join(box.title.split("\n")) + " "
    if cell_len(title) > inner:
        title = set_cell_size(title, inner)
    lines = [[(tl + top, border), (title, border), (top * (inner - cell_len(title)) + top + tr, border)]]
    for item in box.items:
        for runs in item_runs(item, inner):
            used = sum(cell_len(text) for text, _ in runs)
            inside = [(" ", box.style), *((text, _with(box.style, style)) for text, style in runs)]
            if used < inner:
                inside.append((" " * (inner - used), box.style))
            lines.append([(left, border), *inside, (" ", box.style), (right, border)])
    lines.append([(bl + bottom * (width - 2) + br, border)])
    return lines


def item_lines(item, width: int) -> list[str]:
    """An item of a block, as lines of at most `width` cells."""
    return ["".join(text for text, _ in runs) for runs in item_runs(item, width)]


def styled_lines(items, width: int) -> list[Runs]:
    """Top-level items one after another, as styled runs (what the terminal draws, without rich's layout)."""
    return [runs for item in items for runs in item_runs(item, width)]


def render_plain(items, width: int) -> str:
    """Top-level items one after another, each ending its last line."""
    return "".join(line + "\n" for item in items for line in item_lines(item, width))
