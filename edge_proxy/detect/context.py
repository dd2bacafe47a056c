"""Context: what makes an ambiguous digit string a card number.

A bare run of digits, or one grouped the way cards are printed, is a card number on the
brand rule alone (`candidates`). Any other grouping (``123-4567890-1234567``, digits
split by mixed separators), a number glued to letters, and a number that is visibly
something else (a valid IBAN or EAN-13, a timestamp) counts only with *context*:

- a card word near it: within `Rules.context_chars` characters before or after it, a
  word of `Rules.context_words` (``card``, ``cvc``, ``exp``, a brand name…) standing
  alone, or an expiry date (``12/30``, ``07 / 2031``);
- or the name of the field that holds it says card: one of its words (split at
  non-letters and at camelCase) is in `Rules.field_words`, or the whole name is in
  `Rules.field_names` (``number``, as in ``card[number]``; ``order_number`` is not).

Context can also say *not* a card: a GS1-valid number of 14 or 15 digits with a word of
`Rules.other_words` (``tracking``, ``shipped``, ``gtin``…) near it or in its field's name
is a shipment's or product's code unless a card word is near too.

The rules are per deployment (`EDGE_CONTEXT_WORDS`, `EDGE_CONTEXT_FIELD_WORDS`,
`EDGE_CONTEXT_FIELD_NAMES`, `EDGE_GROUPING`); the detector installs them for each call
(`using`), so the detect functions stay plain functions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

Grouping = Literal["printed", "any"]

CONTEXT_WORDS = frozenset(
    {
        "card", "cards", "cardholder", "cardnumber", "cc", "ccn", "ccnum", "pan",
        "credit", "debit", "visa", "mastercard", "amex", "discover", "jcb", "diners",
        "unionpay", "maestro", "rupay", "elo", "mir", "verve",
        "cvc", "cvv", "cvv2", "cvc2", "cid", "csc", "exp", "expiry", "expires",
        "expiration",
    }
)  # fmt: skip
FIELD_WORDS = frozenset(
    {"card", "cards", "cardnumber", "ccnumber", "pan", "cc", "ccn", "cvc", "cvv", "credit"}
)
FIELD_NAMES = frozenset({"number", "num", "no", "acct", "account_number"})
# Words that say a GS1-valid number of 14 or 15 digits is a shipment's or a product's
# code (a FedEx Ground tracking number is 15 digits with a GS1 check digit, and one in
# 500 is also an American Express number), near it or in its field's name.
OTHER_WORDS = frozenset(
    {
        "tracking", "track", "shipment", "shipped", "shipping", "ship", "parcel",
        "package", "fedex", "ups", "usps", "dhl", "carrier", "waybill", "awb",
        "consignment", "sscc", "gtin", "ean", "upc", "isbn", "barcode", "delivery",
    }
)  # fmt: skip


def _words_pattern(words: frozenset[str]) -> str:
    alternatives = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    return rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])" if words else r"(?!)"


@dataclass(frozen=True)
class Rules:
    """One deployment's context rules. `grouping` "any" counts every grouping on the brand
    rule alone (stricter, and it refuses order ids like 123-4567890-1234567 one time in
    thirty); "printed" (the default) asks for context outside printed groupings."""

    context_words: frozenset[str] = CONTEXT_WORDS
    field_words: frozenset[str] = FIELD_WORDS
    field_names: frozenset[str] = FIELD_NAMES
    grouping: Grouping = "printed"
    context_chars: int = 48
    other_words: frozenset[str] = OTHER_WORDS
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _other: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = "|".join(sorted(map(re.escape, self.context_words), key=len, reverse=True))
        expiry = r"(?<![0-9])(?:0?[1-9]|1[0-2]) ?/ ?(?:20)?[0-9]{2}(?![0-9])"
        pattern = rf"(?<![A-Za-z0-9_])(?:{words})(?![A-Za-z0-9_])|{expiry}" if words else expiry
        object.__setattr__(self, "_pattern", re.compile(pattern, re.IGNORECASE))
        other = re.compile(_words_pattern(self.other_words), re.IGNORECASE)
        object.__setattr__(self, "_other", other)

    def _reach(self, text: str, start: int, end: int, pattern: re.Pattern[str]) -> bool:
        reach = self.context_chars
        before = text[max(0, start - reach) : start]
        after = text[end : end + reach]
        return bool(pattern.search(before) or pattern.search(after))

    def near(self, text: str, start: int, end: int) -> bool:
        """True when a card word or an expiry date is within reach of text[start:end]."""
        return self._reach(text, start, end, self._pattern)

    def near_other(self, text: str, start: int, end: int, name: str | None) -> bool:
        """True when a shipment or product word is within reach of text[start:end] or in
        the name of its field."""
        if name is not None and self._other.search(_CAMEL.sub(" ", name).replace("_", " ")):
            return True
        return self._reach(text, start, end, self._other)

    def says_card(self, name: str | None) -> bool:
        """True when a field's name says it holds a card number."""
        return name is not None and _field_says_card(self, name)


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NOT_LETTERS = re.compile(r"[^A-Za-z0-9]+")


@functools.lru_cache(maxsize=4096)
def _field_says_card(rules: Rules, name: str) -> bool:
    last = name.rstrip("]").rsplit("[", 1)[-1].strip().lower()  # metadata[pan] -> pan
    if last in rules.field_names:
        return True
    words = _NOT_LETTERS.split(_CAMEL.sub(" ", name).lower())
    return any(word in rules.field_words for word in words)


DEFAULT_RULES = Rules()
_current: ContextVar[Rules] = ContextVar("edge_detect_rules", default=DEFAULT_RULES)


def rules() -> Rules:
    """The rules of the inspection under way."""
    return _current.get()


@contextmanager
def using(active: Rules) -> Iterator[None]:
    """Inspections inside the block follow `active`."""
    token = _current.set(active)
    try:
        yield
    finally:
        _current.reset(token)
