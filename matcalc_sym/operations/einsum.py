"""einsum("ij,jk->ik", A, B): read as the matrix algebra it is, so every derivative is an existing rule's.

The subscripts string is the one string literal the input language accepts,
and only as einsum's first argument: `read_subscripts` holds it to a strict
pattern (lowercase letters, one per axis, operands separated by commas, one
`->` and the output's letters) before anything else looks at it, and error
messages never echo a string that failed the pattern (an escape sequence in
it would reach the terminal).

`plan` turns validated subscripts and the operands' shapes into a definition
in the input language over the slots u, v, w (the operands), which the
parser translates like dot's `sum(u*v)`: "ij,jk->ik" is `u @ v`, "ii->" is
`trace(u)`, "ij,ij->i" is `sum(u * v, axis=1)`, "ij->ji" is `u.T`. So an
einsum introduces the same intermediate variables as the algebra it names,
both modes differentiate them with the rules they already have, and the
check compares them with NumPy's own einsum of the text
(`matcalc_sym.reference`).

How: a letter repeated within an operand takes the diagonal (`diag(u)`, or
`trace(u)` when nothing else happens); a letter in one operand only and not
in the output is summed over (`sum(u, axis=k)`); then the operands are
combined left to right: a shared letter that is still needed is aligned
(element-wise product, broadcasting a vector along the matrix's other
axis), one that is not is contracted (`@`, or the sum of an element-wise
product); finally the result is transposed if the output asks for the other
order. Arrays have at most two axes, so a contraction that would need a
third (`ij,jk->ijk`, or `ij,kl->ijkl`) is refused.
"""

from __future__ import annotations

import itertools
import re

from ..brackets import balanced
from ..errors import ShapeError

#: operands have at most two axes and there are at most three (the slots u, v, w)
MAX_SUBSCRIPTS_CHARS = 16
_SLOTS = ("u", "v", "w")
_PATTERN = re.compile(r"[a-z]{1,2}(?:,[a-z]{1,2}){0,2}->[a-z]{0,2}")
_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz,->")


def read_subscripts(text: str) -> tuple[list[str], str]:
    """(each operand's letters, the output's letters) of a subscripts string, or a ValueError saying why not.

    The message names an offending character by its code point only: the
    string itself is never repeated until it has passed the pattern.
    """
    if len(text) > MAX_SUBSCRIPTS_CHARS:
        raise ValueError(f"the subscripts string has {len(text)} characters; the limit is {MAX_SUBSCRIPTS_CHARS} "
                         "(at most 3 operands of at most 2 axes)")
    for char in text:
        if char not in _ALPHABET:
            raise ValueError(f"the subscripts may hold only lowercase letters, ',' and '->' (found U+{ord(char):04X})")
    if text.count("->") != 1:
        raise ValueError("the subscripts need exactly one '->' followed by the output's letters, like 'ij,jk->ik'")
    if not _PATTERN.fullmatch(text):
        raise ValueError("subscripts are 1 or 2 letters per operand (one per axis), at most 3 operands separated "
                         "by ',', then '->' and at most 2 output letters, like 'ij,jk->ik'")
    left, output = text.split("->")
    if len(set(output)) != len(output):
        raise ValueError(f"output letter {output[0]!r} appears twice in '{text}'")
    inputs = left.split(",")
    missing = [letter for letter in output if letter not in left]
    if missing:
        raise ValueError(f"output letter {missing[0]!r} of '{text}' appears in no operand")
    return inputs, output


def plan(inputs: list[str], output: str, shapes: list[tuple]) -> str:
    """The einsum as a definition over the slots u, v, w (in the input language); ShapeError when the
    operands do not fit the subscripts or the contraction needs an array of more than two axes."""
    subscripts = f"{','.join(inputs)}->{output}"
    if len(inputs) != len(shapes):
        raise ShapeError(f"'{subscripts}' names {len(inputs)} operand(s), but {len(shapes)} were given")
    _check_sizes(inputs, shapes, subscripts)
    if len(inputs) == 1 and len(inputs[0]) == 2 and inputs[0][0] == inputs[0][1] and not output:
        return "trace(u)"
    prepared = [_prepare(slot, letters) for slot, letters in zip(_SLOTS, inputs)]
    prepared = [_sum_alone(term, k, prepared, output) for k, term in enumerate(prepared)]
    refused = None
    for order in itertools.permutations(prepared):  # as written first; another order may need fewer axes
        try:
            text, letters = _contract(list(order), output, subscripts)
        except ShapeError as exc:
            refused = refused or exc
            continue
        return text if letters == output else f"{_group(text)}.T"  # the same letters, in the other order
    raise refused


def _contract(terms: list, output: str, subscripts: str) -> tuple:
    """Combine the terms left to right, keeping the letters the output or a later term needs."""
    text, letters = terms[0]
    for k, term in enumerate(terms[1:], start=1):
        needed = set(output).union(*(t[1] for t in terms[k + 1:]))
        text, letters = _combine((text, letters), term, needed, subscripts)
    return text, letters


def _group(text: str) -> str:
    """`text` as an operand of `*`, `@` or `.T`: bracketed unless it is a slot or a call."""
    if text in _SLOTS or (text.endswith(".T") and _group(text[:-2]) == text[:-2]):
        return text
    match = re.fullmatch(r"[a-z]+\((.*)\)", text)
    if match and balanced(match.group(1)):
        return text
    return f"({text})"




def _check_sizes(inputs: list[str], shapes: list[tuple], subscripts: str) -> None:
    from ..shapes import show

    size_of: dict[str, tuple] = {}
    for number, (letters, shape) in enumerate(zip(inputs, shapes), start=1):
        if len(letters) != len(shape):
            what = "a scalar" if not shape else f"of shape {show(shape)}"
            raise ShapeError(f"operand {number} is {what}, but '{letters}' in '{subscripts}' gives it "
                             f"{len(letters)} axis(es)")
        for letter, dim in zip(letters, shape):
            first = size_of.setdefault(letter, (dim, number, shape))
            if first[0] != dim:
                raise ShapeError(f"letter '{letter}' of '{subscripts}' is {first[0]} in operand {first[1]} "
                                 f"(shape {show(first[2])}) but {dim} in operand {number} (shape {show(shape)})")


Term = tuple[str, str]  # (input-language text, its axes' letters in order)


def _prepare(slot: str, letters: str) -> Term:
    """A repeated letter takes the diagonal: 'ii' is diag(u), one axis 'i'."""
    if len(letters) == 2 and letters[0] == letters[1]:
        return f"diag({slot})", letters[0]
    return slot, letters


def _sum_alone(term: Term, index: int, terms: list[Term], output: str) -> Term:
    """Sum over the letters no other operand and not the output has."""
    text, letters = term
    others = set(output).union(*(t[1] for k, t in enumerate(terms) if k != index))
    alone = [letter for letter in letters if letter not in others]
    if not alone:
        return term
    if len(alone) == len(letters):
        return f"sum({text})", ""
    (letter,) = alone
    return f"sum({text}, axis={letters.index(letter)})", letters.replace(letter, "")


def _aligned(text: str, letters: str, order: str) -> str:
    """`text` with its axes in `order` (the same letters): itself or its transpose."""
    return text if letters == order else f"{_group(text)}.T"


def _combine(left: Term, right: Term, needed: set, subscripts: str) -> Term:
    (a, la), (b, lb) = left, right
    if not la or not lb:  # a scalar times anything
        return f"{_group(a)} * {_group(b)}", la or lb
    shared = set(la) & set(lb)
    contracted = shared - needed
    if not contracted:
        return _broadcast_product(left, right, subscripts)
    if set(la) == set(lb):  # same letters: multiply entry by entry, then sum the contracted ones
        product = f"{_group(a)} * {_group(_aligned(b, lb, la))}"
        if len(contracted) == len(la):
            return f"sum({product})", ""
        (letter,) = contracted
        return f"sum({product}, axis={la.index(letter)})", la.replace(letter, "")
    (letter,) = contracted  # one letter each side is free: a matrix product
    a = f"{_group(a)}.T" if len(la) == 2 and la[0] == letter else a
    b = f"{_group(b)}.T" if len(lb) == 2 and lb[1] == letter else b
    return f"{_group(a)} @ {_group(b)}", la.replace(letter, "") + lb.replace(letter, "")


def _broadcast_product(left: Term, right: Term, subscripts: str) -> Term:
    """No letter contracted: an element-wise product, an outer product, or a vector along a matrix."""
    (a, la), (b, lb) = left, right
    union = la + "".join(letter for letter in lb if letter not in la)
    if len(union) > 2:
        raise ShapeError(f"'{subscripts}' needs an intermediate array of {len(union)} axes; "
                         "arrays have at most 2 here")
    if set(la) == set(lb):
        return f"{_group(a)} * {_group(_aligned(b, lb, la))}", la
    if len(la) == 1 and len(lb) == 1:
        return f"outer({a}, {b})", la + lb
    matrix, letters, vector, letter = (a, la, b, lb) if len(la) == 2 else (b, lb, a, la)
    if letters[1] == letter:  # the vector runs along the last axis: NumPy broadcasts it as a row
        return f"{_group(matrix)} * {_group(vector)}", letters
    return f"({_group(matrix)}.T * {_group(vector)}).T", letters
