"""Card numbers in JSON: in the raw text, in every string and key, in every number's value.

Two passes, because each sees what the other cannot:

- the raw text, as sent: every duplicate key (``json.loads`` keeps only the last) and every
  number as written (``4242.4242…`` reads as two groups of digits);
- the parsed document, with duplicates kept: strings after their escapes are undone
  (``"\\u0034\\u0032…"``), and each number by its exact value, read from its own text
  with `Decimal` rather than float, so ``4.242424242424242e15`` is seen as the integer
  it denotes.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from edge_proxy.detect.candidates import Finding, find_pan
from edge_proxy.detect.normalise import normalise

# Only values below 10**20 are written out: a larger integer part is one group of more
# than 19 digits, which the card number rule ignores anyway. The lower bound keeps a
# tiny exponent from growing a huge string of zeros.
_MAX_ADJUSTED = 19
_MIN_ADJUSTED = -40


class MalformedJson(ValueError):
    """The text is not one JSON document."""


class _Members(list[tuple[str, Any]]):
    """An object's members in order, duplicate keys kept."""


class _Number(str):
    """A number exactly as written in the document."""


def _number_text(token: str) -> str | None:
    """A JSON number written out in full (no exponent), or None when it cannot be a card."""
    try:
        value = Decimal(normalise(token))
    except InvalidOperation:
        return None
    if not value.is_finite() or value.is_zero():
        return None
    if not _MIN_ADJUSTED <= value.adjusted() <= _MAX_ADJUSTED:
        return None
    return format(abs(value), "f")


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


def find_in_json(text: str) -> Finding | None:
    """The first card number in a JSON document; raise MalformedJson if it does not parse."""
    finding = find_pan(normalise(text))
    if finding is not None:
        return finding
    stack: list[Any] = [_parse(text)]
    while stack:  # a loop, not recursion: nesting depth is the sender's choice
        value = stack.pop()
        if isinstance(value, _Number):
            written = _number_text(value)
            finding = find_pan(written) if written is not None else None
        elif isinstance(value, str):
            finding = find_pan(normalise(value))
        elif isinstance(value, _Members):
            for key, member in value:
                stack.extend((key, member))
            continue
        elif isinstance(value, list):
            stack.extend(value)
            continue
        else:  # true, false, null
            continue
        if finding is not None:
            return finding
    return None
