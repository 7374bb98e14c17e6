"""Issue 19: measuring LaTeX for line breaking costs about one reading of the text, not one per level.

`linebreak.width` measured each group by measuring its substring again, and every word of a
line in full: the LaTeX of a 3200-node derivation took 3.4× its derivation, most of it there.
These tests hold the one-pass measure to the recursive definition it replaced (written out
here, sharing no code with the package) and count how much of a text it reads, never time.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcalc_sym.render import linebreak
from matcalc_sym.render.linebreak import break_math, width

_WRAPPERS = ("\\mathrm", "\\mathbf", "\\operatorname", "\\text", "\\bm", "\\mathbb", "\\boldsymbol", "\\mathit",
             "\\mathsf", "\\boxed")
_OPERATOR_COMMANDS = ("\\odot", "\\cdot", "\\otimes", "\\times", "\\leq", "\\geq")


def _group_end(s: str, i: int) -> int:
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{" and s[j - 1:j] != "\\":
            depth += 1
        elif s[j] == "}" and s[j - 1:j] != "\\":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(s)


def _command(s: str, i: int) -> str:
    j = i + 1
    while j < len(s) and s[j].isalpha():
        j += 1
    return s[i:max(j, i + 2)]


def recursive_width(s: str) -> float:
    """The definition: a fraction is its wider part plus 1, a root its radicand plus 1.5, a script
    0.7 of its width, a font wrapper its argument, a command 1.2 (operators 2.2, spaces 0.3,
    quads 2 and 4), an operator character 2.2, braces and spaces nothing, any other character 1."""
    total, j = 0.0, 0
    while j < len(s):
        c = s[j]
        if c == "\\":
            command = _command(s, j)
            j += len(command)
            follows_group = j < len(s) and s[j] == "{"
            if command == "\\frac" and follows_group:
                end = _group_end(s, j)
                second = _group_end(s, end)
                total += max(recursive_width(s[j + 1:end - 1]), recursive_width(s[end + 1:second - 1])) + 1
                j = second
            elif command == "\\sqrt" and follows_group:
                end = _group_end(s, j)
                total += recursive_width(s[j + 1:end - 1]) + 1.5
                j = end
            elif command in _WRAPPERS and follows_group:
                end = _group_end(s, j)
                total += recursive_width(s[j + 1:end - 1])
                j = end
            elif command in ("\\left", "\\right", "\\bigl", "\\bigr"):
                continue
            elif command == "\\quad":
                total += 2
            elif command == "\\qquad":
                total += 4
            elif command in _OPERATOR_COMMANDS:
                total += 2.2
            elif command in ("\\,", "\\;", "\\!", "\\ "):
                total += 0.3
            else:
                total += 1.2
        elif c in "^_":
            j += 1
            if j < len(s) and s[j] == "{":
                end = _group_end(s, j)
                total += 0.7 * recursive_width(s[j + 1:end - 1])
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


def latex_text(rng: random.Random, depth: int = 0, lone_brackets: bool = True) -> str:
    """Balanced braces as the printer writes them: fractions, roots, scripts, fonts, sized brackets
    (with `lone_brackets`, also a \\left or \\right on its own, which TeX would refuse)."""
    parts = []
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(10 if depth < 4 else 4)
        if choice == 0:
            parts.append(rng.choice(["x", "u", "2", "y_{1}", "\\sigma", "\\partial"]))
        elif choice == 1:
            parts.append(rng.choice(["+", "-", "=", "\\cdot", "\\odot", "\\,", "\\quad"]))
        elif choice == 2:
            parts.append(rng.choice(["ab", "\\mathbb{1}", "\\{", "\\}", "\\bigl(", "\\bigr)"]
                                    + (["\\left(", "\\right)"] if lone_brackets else [])))
        elif choice == 3:
            parts.append(rng.choice(["\\mathrm{W}", "\\mathbf{x}^{T}", "e^{x}"]))
        elif choice == 4:
            parts.append(f"\\frac{{{latex_text(rng, depth + 1, lone_brackets)}}}{{{latex_text(rng, depth + 1, lone_brackets)}}}")
        elif choice == 5:
            parts.append(f"\\sqrt{{{latex_text(rng, depth + 1, lone_brackets)}}}")
        elif choice == 6:
            parts.append(f"x^{{{latex_text(rng, depth + 1, lone_brackets)}}}")
        elif choice == 7:
            parts.append(f"u_{{{latex_text(rng, depth + 1, lone_brackets)}}}")
        elif choice == 8:
            parts.append(f"\\operatorname{{{latex_text(rng, depth + 1, lone_brackets)}}}")
        else:
            parts.append(f"\\left({latex_text(rng, depth + 1, lone_brackets)}\\right)")
    return " ".join(parts)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9), st.sampled_from([None, 5.0, 20.0, 54.8]))
def test_the_one_pass_measure_is_the_recursive_definition(seed, limit):
    text = latex_text(random.Random(seed))
    expected = recursive_width(text)
    measured = width(text, limit)
    if limit is None or expected <= limit:
        assert measured == pytest.approx(expected, abs=1e-9)
    else:  # past the limit only "too wide" is promised, never a wrong "fits"
        assert measured > limit


class CountingPattern:
    """A compiled pattern that counts the tokens `width` reads with it."""

    def __init__(self, pattern) -> None:
        self.pattern, self.reads = pattern, 0

    def match(self, text, position):
        self.reads += 1
        return self.pattern.match(text, position)


@pytest.fixture
def counted(monkeypatch):
    counter = CountingPattern(linebreak._TOKEN)
    monkeypatch.setattr(linebreak, "_TOKEN", counter)
    linebreak._remembered_width.cache_clear()
    yield counter
    linebreak._remembered_width.cache_clear()


def test_nested_groups_are_read_once(counted):
    """Fractions inside fractions inside exponents: every token once (the recursion read level k k times)."""
    text = "x"
    for level in range(200):
        text = f"\\frac{{{text} + {level}}}{{e^{{y_{{{level}}}}}}}"
    tokens = len(linebreak._TOKEN.pattern.findall(text))
    assert width(text) == pytest.approx(recursive_width(text))
    assert counted.reads == tokens


@pytest.mark.parametrize("wrap", ["{0}", "\\frac{{{0}}}{{2}}", "\\left({0}\\right)", "\\sqrt{{{0}}}", "e^{{{0}}}"])
def test_a_limit_stops_reading_a_long_text(counted, wrap):
    """Asked whether 100 000 characters fit in 60, `width` reads about 60 characters' worth, inside a
    fraction, a root, brackets or an exponent too."""
    body = " + ".join(f"u_{{{i}}}" for i in range(12000))
    text = wrap.format(body)
    assert len(text) > 90_000
    assert width(text, limit=60.0) > 60.0
    assert counted.reads < 400


def test_breaking_a_huge_sum_reads_each_word_about_once(counted):
    """break_math of a 40 000-term sum: the reads grow with the text, not with the text times its pieces."""
    terms = [f"\\frac{{\\partial u_{{{i}}}}}{{\\partial x}}" for i in range(40000)]
    text = " + ".join(terms)
    pieces = break_math(text, 60.0)
    assert " ".join(pieces) == text
    tokens = len(linebreak._TOKEN.pattern.findall(text))
    assert len(pieces) > 1000
    assert counted.reads < 1.2 * tokens


def test_opening_factors_of_a_huge_line_reads_a_bounded_amount(monkeypatch):
    """Each opened factor is read again; one line stops opening after MAX_OPENED_CHARS of them (the
    gallery's widest opens about 2 000), so a 3200-node result no longer reads 40 × 200 000."""
    opened: list[int] = []
    original = linebreak._opened

    def counting(word):
        opened.append(len(word))
        return original(word)

    monkeypatch.setattr(linebreak, "_opened", counting)
    text = "x"
    for level in range(60):
        terms = " + ".join(f"u_{{{level}{i}}}" for i in range(400))
        text = f"\\left({terms} + {text}\\right) y_{{{level}}}"
    assert len(text) > 250_000
    pieces = break_math(text, 60.0)
    assert len(pieces) > 40  # the outer sum is still broken, eight terms a row
    assert sum(opened) <= linebreak.MAX_OPENED_CHARS + len(text)
    assert 1 <= len(opened) < linebreak.MAX_PIECES


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9))
def test_counting_characters_never_overestimates_what_fits(seed):
    """`fits` may settle a line by counting its characters; the count is never below its width."""
    text = latex_text(random.Random(seed))
    assert linebreak._at_most(text) >= recursive_width(text) - 1e-9
