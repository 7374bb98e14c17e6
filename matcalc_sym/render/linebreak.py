"""Long LaTeX equations broken over lines, the way a textbook sets them.

A derivative such as layer norm's runs to several page widths on one line (pdflatex reported
287 pt overfull). `break_math` splits printed LaTeX into pieces that each fit a width: first at
the top-level `+`, `−`, `⊙` and `·` of the expression, then, when one factor is still too wide,
inside it: `\\left( … \\right)` becomes `\\bigl( … \\bigr)` (which may span lines, where
`\\left`/`\\right` may not), a wide `\\frac{A}{B}` becomes `\\frac{1}{B}\\bigl(A\\bigr)` and a wide
`\\sqrt{A}` becomes `(A)^{1/2}`, the same mathematics written so that it can break. The caller
sets the pieces as aligned lines (`&\\quad` continuations). Widths are estimated in characters
as printed (a fraction is as wide as its wider part, sub- and superscripts are small).
"""

from __future__ import annotations

import re
from collections import deque
from functools import lru_cache

from ..brackets import balanced, nesting

#: commands whose single argument is printed as it is (its width is the argument's)
_WRAPPERS = ("\\mathrm", "\\mathbf", "\\operatorname", "\\text", "\\bm", "\\mathbb", "\\boldsymbol",
             "\\mathit", "\\mathsf", "\\boxed")
_OPERATORS = ("+", "-", "\\odot", "\\cdot", "\\otimes", "\\times")
#: how many `\\quad`-indented continuation pieces may come from one factor before it stays whole
MAX_PIECES = 40
#: after opening this many characters of factors, a line opens no more: opening re-reads the factor,
#: and a factor of a huge expression holds most of it (the gallery's widest line opens 2 000; a
#: 3200-node derivative's result opened 40 factors of 200 000, and its layout is not read on paper)
MAX_OPENED_CHARS = 50_000


_BRACES = re.compile(r"\\[{}]|[{}]")


def _brace_end(s: str, i: int) -> int:
    """The index after the group that opens with the `{` at `i` (escaped braces `\\{` do not count)."""
    depth = 0
    for match in _BRACES.finditer(s, i):
        brace = match.group()
        if brace == "{":
            depth += 1
        elif brace == "}":
            depth -= 1
            if depth == 0:
                return match.end()
    return len(s)


_CONTROL = re.compile(r"\\(?:[^\W\d_]+|.)?", re.S)


def _command_at(s: str, i: int) -> str:
    """The control word (or symbol) that starts at the backslash at `i`."""
    return _CONTROL.match(s, i).group()


def _delimiter_end(s: str, i: int) -> int:
    """The index after the delimiter that follows `\\left`/`\\right` (`(`, `\\{`, `\\|`, `.`)."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "\\":
        return i + len(_command_at(s, i))
    return i + 1


_LEFT_RIGHT_OR_BRACE = re.compile(r"\\left(?![^\W\d_])|\\right(?![^\W\d_])|\{")


def _right_match(s: str, i: int) -> int:
    """The index of the `\\right` matching the `\\left` at `i`."""
    depth = 0
    found = _LEFT_RIGHT_OR_BRACE.search(s, i)
    while found is not None:
        mark, j = found.group(), found.start()
        if mark == "{":
            j = _brace_end(s, j)
        elif mark == "\\left":
            depth += 1
            j += 5
        else:
            depth -= 1
            if depth == 0:
                return j
            j += 6
        found = _LEFT_RIGHT_OR_BRACE.search(s, j)
    return len(s)


_WORD_STOP = re.compile(r"[\\{ ]")


#: texts up to this long keep their words (a long derivation's steps repeat their factors, and a
#: factor is split again each time a step opens it: three quarters of the splits of a 3200-node case)
_REMEMBERED_WORDS_LENGTH = 8192


def words(s: str) -> list[str]:
    """`s` split at the spaces that are at the top level (outside braces and \\left … \\right)."""
    if len(s) <= _REMEMBERED_WORDS_LENGTH:
        return list(_remembered_words(s))
    return _words(s)


@lru_cache(maxsize=128)
def _remembered_words(s: str) -> tuple[str, ...]:
    return tuple(_words(s))


def _words(s: str) -> list[str]:
    """`s` split at the spaces that are at the top level (outside braces and \\left … \\right).

    Jumps from one backslash, brace or space to the next: the characters
    between them cannot split a word.
    """
    out, start, depth = [], 0, 0
    stop = _WORD_STOP.search(s)
    while stop is not None:
        j = stop.start()
        c = s[j]
        if c == "\\":
            if s.startswith("\\left", j) and not s[j + 5:j + 6].isalpha():
                depth += 1
                j += 5
            elif s.startswith("\\right", j) and not s[j + 6:j + 7].isalpha():
                depth -= 1
                j += 6
            else:
                j += len(_command_at(s, j))
        elif c == "{":
            j = _brace_end(s, j)
        else:
            if depth == 0:
                if j > start:
                    out.append(s[start:j])
                start = j + 1
            j += 1
        stop = _WORD_STOP.search(s, j)
    if start < len(s):
        out.append(s[start:])
    return out


#: one token: a control word or symbol, a brace, a script mark, spaces, an operator, or a run of other characters
_TOKEN = re.compile(r"\\(?:[^\W\d_]+|.)?|[{}^_]|[ ]+|[-+=<>]|[^-\\{}^_ +=<>]+", re.S)
_COMMAND_WIDTHS = {"\\quad": 2.0, "\\qquad": 4.0, "\\odot": 2.2, "\\cdot": 2.2, "\\otimes": 2.2, "\\times": 2.2,
                   "\\leq": 2.2, "\\geq": 2.2, "\\,": 0.3, "\\;": 0.3, "\\!": 0.3, "\\ ": 0.3}
_DELIMITER_SIZES = frozenset(("\\left", "\\right", "\\bigl", "\\bigr"))
_GROUP_EXTRA = {"numerator": 1.0, "denominator": 1.0, "root": 1.5}
_GROUP_OPENERS = {"\\frac": "numerator", "\\sqrt": "root", **{wrapper: "wrapped" for wrapper in _WRAPPERS}}


#: texts up to this long are measured once (a derivation repeats its short factors, ∂u₅/∂u₄, in many steps)
_REMEMBERED_LENGTH = 400


def width(s: str, limit: float | None = None) -> float:
    """About how many characters `s` prints as (see `_width`); short texts are remembered."""
    if len(s) <= _REMEMBERED_LENGTH:
        return _remembered_width(s, limit)
    return _width(s, limit)


def _width(s: str, limit: float | None = None) -> float:
    """About how many characters `s` prints as, at the size of the line it is on.

    One pass with a stack of open groups: measuring each group by measuring
    its text again (as nested calls on substrings did) made the width of a
    derivation's long lines quadratic in their nesting, most of the time of
    its LaTeX. A fraction is as wide as its wider part plus one, a root adds
    1.5, sub- and superscripts count 0.7 of their width; a brace group by
    itself adds nothing.

    With a `limit`, measuring stops as soon as the width is known to exceed
    it, and what is returned is then only some number above `limit`: a
    caller asking "does it fit?" of a line of a huge derivation need not
    read all of it.
    """
    total, j, n = 0.0, 0, len(s)
    # each open group: (kind, total outside it, the numerator's width, `held` and `scale` outside it)
    stack: list[tuple[str, float, float, float, float]] = []
    opens: str | None = None  # the kind of group a `{` right here opens
    numerator = 0.0
    # what the enclosing groups add at least, and how much of this group's width reaches the line
    held, scale = 0.0, 1.0
    while j < n:
        if limit is not None and held + scale * total > limit:
            return held + scale * total  # a lower bound: every group adds at least its contents (scaled)
        token = _TOKEN.match(s, j)
        piece = token.group()
        c = piece[0]
        if c == "{":
            kind, opens = opens or "plain", None
            if kind != "plain":
                stack.append((kind, total, numerator, held, scale))
                held += scale * total
                scale *= 0.7 if kind == "script" else 1.0
                total = 0.0
            else:
                stack.append(("plain", 0.0, 0.0, held, scale))
            j += 1
            continue
        opens = None
        if c == "}":
            j += 1
            if not stack:
                continue
            kind, outside, numerator, held, scale = stack.pop()
            if kind == "numerator":
                numerator = total
                if j < n and s[j] == "{":  # the denominator opens next, measured against this
                    opens, total = "denominator", outside
                    continue
                total = outside + (numerator + 1)
            elif kind == "denominator":
                total = outside + (max(numerator, total) + 1)
            elif kind == "root":
                total = outside + (total + 1.5)
            elif kind == "wrapped":
                total = outside + total
            elif kind == "script":
                total = outside + 0.7 * total
            continue
        if c == "\\":
            j = token.end()
            if piece in _GROUP_OPENERS and j < n and s[j] == "{":
                opens = _GROUP_OPENERS[piece]
            elif piece not in _DELIMITER_SIZES:  # after those, the delimiter counts as one character
                total += _COMMAND_WIDTHS.get(piece, 1.2)
        elif c in "^_":
            j += 1
            if j < n and s[j] == "{":
                opens = "script"
            else:  # one character raised, whatever it is
                total += 0.7
                j += 1
        elif c == " ":
            j = token.end()
        elif c in "+-=<>":
            total += 2.2
            j += 1
        else:  # a run of plain characters, one each
            for _ in piece:
                total += 1
            j = token.end()
    while stack:  # groups left open (text cut short): closed where the text ends
        kind, outside, numerator, _, _ = stack.pop()
        if kind == "denominator":
            total = max(numerator, total)
        if kind != "plain":
            total = outside + (0.7 if kind == "script" else 1.0) * total + _GROUP_EXTRA.get(kind, 0.0)
    return total


_remembered_width = lru_cache(maxsize=8192)(_width)


def _at_most(s: str) -> float:
    """An upper bound of `width(s)` from character counts alone: no character prints wider than one
    but the operators (2.2); spaces and group braces print nothing, a command no more than its
    characters (an escaped brace, \\{, is a command)."""
    groups = s.count("{") - s.count("\\{") + s.count("}") - s.count("\\}")  # \\{ and \\} print
    return len(s) - s.count(" ") - groups + 1.2 * sum(map(s.count, "+-=<>"))


def fits(s: str, budget: float) -> bool:
    """Whether `s` prints within `budget`: by counting its characters when that settles it (most lines
    of a long derivation), else by measuring it."""
    return _at_most(s) <= budget or width(s, limit=budget) <= budget


def _wider_or_as_wide(a: str, b: str) -> bool:
    """width(a) >= width(b), measuring the longer text only as far as the shorter one's width."""
    if len(a) <= len(b):
        short = width(a)
        return short >= width(b, limit=short)
    short = width(b)
    return width(a, limit=short) >= short


def _opened(word: str) -> list[str] | None:
    """A wide factor rewritten so that it can break: its parts as words, or None when it cannot.

    A long derivation's steps open the same factors again and again, so a
    short one's parts are remembered (`_remembered_opening`).
    """
    if len(word) <= _REMEMBERED_WORDS_LENGTH:
        parts = _remembered_opening(word)
        return None if parts is None else list(parts)
    return _opening(word)


@lru_cache(maxsize=128)
def _remembered_opening(word: str) -> tuple[str, ...] | None:
    parts = _opening(word)
    return None if parts is None else tuple(parts)


def _opening(word: str) -> list[str] | None:
    if word.startswith("\\frac{"):
        end = _brace_end(word, 5)
        second_end = _brace_end(word, end)
        if second_end == len(word):
            numerator, denominator = word[6:end - 1], word[end + 1:second_end - 1]
            if _wider_or_as_wide(numerator, denominator):
                return [rf"\frac{{1}}{{{denominator}}}", "\\bigl(", *words(numerator), "\\bigr)"]
            return [*(["\\bigl(", *words(numerator), "\\bigr)"] if " " in numerator else [numerator]),
                    "\\bigl/", "\\bigl(", *words(denominator), "\\bigr)"]
    if word.startswith("\\sqrt{") and _brace_end(word, 5) == len(word):
        return ["\\bigl(", *words(word[6:-1]), "\\bigr)^{1/2}"]
    start = word.find("\\left")
    while start >= 0 and word[start + 5:start + 6].isalpha():
        start = word.find("\\left", start + 1)
    if start < 0:
        return None
    open_end = _delimiter_end(word, start + 5)
    close = _right_match(word, start)
    if close >= len(word):
        return None
    close_end = _delimiter_end(word, close + 6)
    prefix, opening = word[:start], word[start + 5:open_end].strip()
    closing, suffix = word[close + 6:close_end].strip(), word[close_end:]
    inner = word[open_end:close]
    unclosed, _ = nesting(_BRACES.findall(prefix), "{", "}")
    if unclosed:  # the brackets stand inside a group: \\sin{\\left(…\\right)}, {\\left(…\\right)}^{2}, e^{\\left(…
        if unclosed != 1 or not prefix.endswith("{") or not suffix.startswith("}") or not _argument_group(prefix):
            return None  # a script, a fraction or a root: rows cannot break inside it
        prefix, suffix = prefix[:-1], suffix[1:]  # a function's argument or a bare group: its braces go
    return [prefix + "\\bigl" + opening, *words(inner), "\\bigr" + closing + suffix]


def _argument_group(prefix: str) -> bool:
    """Whether the group `prefix` ends by opening only gathers what follows: a function's argument
    (`\\sin{`, `\\operatorname{tanh}{`) or a bare group, not a script (`^{`, `_{`) or a command's
    own argument (`\\frac{`, `\\sqrt{`, `\\mathrm{`)."""
    before = prefix[:-1].rstrip()
    if not before or before.endswith(("}", " ")):
        return True
    if before.endswith(("^", "_")):
        return False
    command = re.search(r"\\([A-Za-z]+)$", before)
    return command is not None and "\\" + command.group(1) not in _GROUP_OPENERS and command.group(1) not in (
        "left", "right", "bigl", "bigr")


def _balanced(piece: str) -> bool:
    """Whether a row may end after `piece`: no group left open or closed early, no \\left without its
    \\right (TeX stops at a row break inside either)."""
    return balanced(_BRACES.findall(piece), "{", "}") and len(_LEFT.findall(piece)) == len(_RIGHT.findall(piece))


_LEFT = re.compile(r"\\left(?![^\W\d_])")
_RIGHT = re.compile(r"\\right(?![^\W\d_])")


def break_math(latex_text: str, budget: float) -> list[str]:
    """`latex_text` as pieces of at most about `budget` printed characters, broken before an operator.

    A line that fits comes back as it is (one piece). Each later piece starts with the operator
    it was broken before (`+ …`, `- …`, `\\odot …`), or with `\\cdot` where a product was broken.
    """
    if fits(latex_text, budget):
        return [latex_text]
    queue = deque(words(latex_text))
    pieces: list[list[str]] = [[]]
    widths: list[list[float]] = [[]]  # each word's width, so that a piece is measured once per word
    opened = opened_chars = 0

    def span(ws: list[float]) -> float:
        return sum(ws) + 0.3 * max(len(ws) - 1, 0)

    while queue:
        word = queue.popleft()
        current, measured = pieces[-1], widths[-1]
        w = width(word, limit=budget)  # beyond the budget, how far does not matter
        if span([*measured, w]) <= budget or (current and word.startswith("\\bigr")):
            current.append(word)
            measured.append(w)
            continue
        if w > budget and opened < MAX_PIECES and opened_chars < MAX_OPENED_CHARS:
            parts = _opened(word)  # a wide factor: open it where it stands
            if parts is not None:
                opened += 1
                opened_chars += len(word)
                queue.extendleft(reversed(parts))
                continue
        last = max((k for k, x in enumerate(current) if x in _OPERATORS and k > 0), default=None)
        if not current:
            current.append(word)
            measured.append(w)
            continue
        if word not in _OPERATORS and last is not None and span([*measured[last:], w]) <= budget:
            new, new_widths = [*current[last:], word], [*measured[last:], w]  # break before the last operator
            del current[last:], measured[last:]
        elif current[-1] in _OPERATORS and len(current) > 1:
            new, new_widths = [current.pop(), word], [measured.pop(), w]  # the operator starts the next line
        elif word in _OPERATORS or ("\\bigl" in current[-1] and current[-1].endswith(("(", "[", "\\{", "|"))):
            new, new_widths = [word], [w]
        else:
            new, new_widths = ["\\cdot", word], [2.2, w]  # a product broken between two factors
        pieces.append(new)
        widths.append(new_widths)
    rows = [" ".join(piece) for piece in pieces if piece]
    if not all(_balanced(row) for row in rows):  # never a row TeX cannot set: then the line stays whole
        return [latex_text]
    return rows
