"""Card numbers in JSON: in every string and key as written and as parsed, and in every
number by its value.

- Strings and keys are given the text reading (`reading`) twice: as written in the raw
  text (every duplicate key, which ``json.loads`` would collapse to the last) and as
  parsed with duplicates kept (escapes undone: ``"\\u0034\\u0032…"``).
- A number is a card number only by its value: its integer part, computed exactly from
  its own text with `Decimal` (never float), is checked as one group of digits. So
  ``4.242424242424242e15``, ``4242424242424242.0`` and ``42424242424242420e-1`` are found,
  while the digits of a fraction (``5.960464477539063e-08``, ``0.30000000000000004``)
  are not read as a card: a full-precision float would otherwise be refused one time in
  ten.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from edge_proxy.detect.budget import check
from edge_proxy.detect.candidates import MAX_DIGITS, MIN_DIGITS, Finding, find_pan
from edge_proxy.detect.normalise import normalise
from edge_proxy.detect.reading import find_in_text

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class MalformedJson(ValueError):
    """The text is not one JSON document."""


class _Members(list[tuple[str, Any]]):
    """An object's members in order, duplicate keys kept."""


class _Number(str):
    """A number exactly as written in the document."""


def integer_part(token: str) -> str | None:
    """The digits of a JSON number's integer part when it has 13 to 19, else None."""
    try:
        value = Decimal(normalise(token)).copy_abs()  # exact: no context, no rounding
    except InvalidOperation:
        return None
    # adjusted() is the power of ten of the first digit: bounds the length without
    # writing out 1e999999999.
    if not value.is_finite() or not MIN_DIGITS - 1 <= value.adjusted() <= MAX_DIGITS - 1:
        return None
    return format(value.to_integral_value(rounding=ROUND_DOWN), "f")


def find_in_number(token: str, field: str | None = None) -> Finding | None:
    """A JSON number, by the value of its integer part: one group of digits."""
    digits = integer_part(token)
    return find_pan(digits, field=field) if digits is not None else None


def _parse(text: str) -> Any:
    try:
        return json.loads(
            text,
            object_pairs_hook=_Members,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_Number,
        )
    except (ValueError, RecursionError):
        raise MalformedJson("not valid JSON") from None


_MEMBER = re.compile(r"\s*:\s*")


def _key(literal: str) -> str | None:
    try:
        key = json.loads(literal)
    except ValueError:
        return None
    return key if isinstance(key, str) else None


def find_in_written_strings(text: str) -> Finding | None:
    """Every string literal as written, a member's value with its key as the field."""
    previous = None
    for count, match in enumerate(_STRING.finditer(text)):
        if not count & 0x3FF:
            check()
        field = None
        if previous is not None and _MEMBER.fullmatch(text, previous.end(), match.start()):
            field = _key(previous.group())
        finding = find_in_text(match.group(), field=field)
        if finding is not None:
            return finding
        previous = match
    return None


def find_in_json(text: str) -> Finding | None:
    """The first card number in a JSON document; raise MalformedJson if it does not parse."""
    stack: list[Any] = [_parse(text)]
    finding = find_in_written_strings(text)
    walked = 0
    while stack and finding is None:  # a loop, not recursion: the sender picks the depth
        value = stack.pop()
        walked += 1
        if not walked & 0x3FF:
            check()
        if isinstance(value, _Number):
            finding = find_in_number(value)
        elif isinstance(value, str):
            finding = find_in_text(value)
        elif isinstance(value, _Members):
            for key, member in value:
                stack.extend((key, member))
        elif isinstance(value, list):
            stack.extend(value)
    return finding
