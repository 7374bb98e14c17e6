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

#: commands whose single argument is printed as it is (its width is the argument's)
_WRAPPERS = ("\\mathrm", "\\mathbf", "\\operatorname", "\\text", "\\bm", "\\mathbb", "\\boldsymbol",
             "\\mathit", "\\mathsf", "\\boxed")
_OPERATORS = ("+", "-", "\\odot", "\\cdot", "\\otimes", "\\times")
#: how many `\\quad`-indented continuation pieces may come from one factor before it stays whole
MAX_PIECES = 40


def _brace_end(s: str, i: int) -> int:
    """The index after the group that opens with the `{` at `i`."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "\\":
            continue
        if s[j] == "{" and (j == 0 or s[j - 1] != "\\"):
            depth += 1
        elif s[j] == "}" and s[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(s)


def _command_at(s: str, i: int) -> str:
    """The control word (or symbol) that starts at the backslash at `i`."""
    j = i + 1
    while j < len(s) and s[j].isalpha():
        j += 1
    return s[i:max(j, i + 2)]


def _delimiter_end(s: str, i: int) -> int:
    """The index after the delimiter that follows `\\left`/`\\right` (`(`, `\\{`, `\\|`, `.`)."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "\\":
        return i + len(_command_at(s, i))
    return i + 1


def _right_match(s: str, i: int) -> int:
    """The index of the `\\right` matching the `\\left` at `i`."""
    depth = 0
    j = i
    while j < len(s):
        if s.startswith("\\left", j) and not s[j + 5:j + 6].isalpha():
            depth += 1
            j += 5
        elif s.startswith("\\right", j) and not s[j + 6:j + 7].isalpha():
            depth -= 1
            if depth == 0:
                return j
            j += 6
        elif s[j] == "{":
            j = _brace_end(s, j)
        else:
            j += 1
    return len(s)


def words(s: str) -> list[str]:
    """`s` split at the spaces that are at the top level (outside braces and \\left … \\right)."""
    out, start, j, depth = [], 0, 0, 0
    while j < len(s):
        if s[j] == "\\" and s.startswith("\\left", j) and not s[j + 5:j + 6].isalpha():
            depth += 1
            j += 5
        elif s[j] == "\\" and s.startswith("\\right", j) and not s[j + 6:j + 7].isalpha():
            depth -= 1
            j += 6
        elif s[j] == "\\":
            j += len(_command_at(s, j))
        elif s[j] == "{":
            j = _brace_end(s, j)
        elif s[j] == " " and depth == 0:
            if j > start:
                out.append(s[start:j])
            start = j = j + 1
        else:
            j += 1
    if start < len(s):
        out.append(s[start:])
    return out


def width(s: str) -> float:
    """About how many characters `s` prints as, at the size of the line it is on."""
    total, j = 0.0, 0
    while j < len(s):
        c = s[j]
        if c == "\\":
            command = _command_at(s, j)
            j += len(command)
            if command == "\\frac" and j < len(s) and s[j] == "{":
                end = _brace_end(s, j)
                second_end = _brace_end(s, end)
                total += max(width(s[j + 1:end - 1]), width(s[end + 1:second_end - 1])) + 1
                j = second_end
            elif command == "\\sqrt" and j < len(s) and s[j] == "{":
                end = _brace_end(s, j)
                total += width(s[j + 1:end - 1]) + 1.5
                j = end
            elif command in _WRAPPERS and j < len(s) and s[j] == "{":
                end = _brace_end(s, j)
                total += width(s[j + 1:end - 1])
                j = end
            elif command in ("\\left", "\\right", "\\bigl", "\\bigr"):
                continue  # the delimiter after it counts as one character
            elif command in ("\\quad",):
                total += 2
            elif command in ("\\qquad",):
                total += 4
            elif command in ("\\odot", "\\cdot", "\\otimes", "\\times", "\\leq", "\\geq"):
                total += 2.2
            elif command in ("\\,", "\\;", "\\!", "\\ "):
                total += 0.3
            else:
                total += 1.2
        elif c in "^_":
            j += 1
            if j < len(s) and s[j] == "{":
                end = _brace_end(s, j)
                total += 0.7 * width(s[j + 1:end - 1])
                j = end
            else:
                total += 0.7
                j += 1
        elif c in "{} ":
            j += 1
        elif c in "+-=<>":
            total += 2.2
            j += 1
        else:
            total += 1
            j += 1
    return total


def _opened(word: str) -> list[str] | None:
    """A wide factor rewritten so that it can break: its parts as words, or None when it cannot."""
    if word.startswith("\\frac{"):
        end = _brace_end(word, 5)
        second_end = _brace_end(word, end)
        if second_end == len(word):
            numerator, denominator = word[6:end - 1], word[end + 1:second_end - 1]
            if width(numerator) >= width(denominator):
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
    return [prefix + "\\bigl" + opening, *words(inner), "\\bigr" + closing + suffix]


def break_math(latex_text: str, budget: float) -> list[str]:
    """`latex_text` as pieces of at most about `budget` printed characters, broken before an operator.

    A line that fits comes back as it is (one piece). Each later piece starts with the operator
    it was broken before (`+ …`, `- …`, `\\odot …`), or with `\\cdot` where a product was broken.
    """
    if width(latex_text) <= budget:
        return [latex_text]
    queue = words(latex_text)
    pieces: list[list[str]] = [[]]
    widths: list[list[float]] = [[]]  # each word's width, so that a piece is measured once per word
    opened = 0

    def span(ws: list[float]) -> float:
        return sum(ws) + 0.3 * max(len(ws) - 1, 0)

    while queue:
        word = queue.pop(0)
        current, measured = pieces[-1], widths[-1]
        w = width(word)
        if span([*measured, w]) <= budget or (current and word.startswith("\\bigr")):
            current.append(word)
            measured.append(w)
            continue
        if w > budget and opened < MAX_PIECES:  # a wide factor: open it where it stands
            parts = _opened(word)
            if parts is not None:
                opened += 1
                queue[:0] = parts
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
    return [" ".join(piece) for piece in pieces if piece]
