"""The vault's one check for a card number in text: names, audit fields and log lines.

Stricter than a card-number detector needs to be, because the text it guards (a
cardholder's name, an audit field, a log message) never has a reason to hold many digits:
any twelve digits that no letter parts — whatever else parts them (spaces, dashes, dots,
colons, commas, slashes, any punctuation or symbol) and whatever script they are written
in (Unicode decimal digits: Arabic-Indic, full-width, …) — count as a card number. No Luhn
test: a number refused in error is a typo to fix, a number let through is a leak.
"""

from __future__ import annotations

import unicodedata

MIN_DIGITS = 12  # fewer than any card number has (13), and than any it hides (12 of them)
REDACTED = "[redacted]"


def _spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each stretch of `text` holding MIN_DIGITS digits parted by no letter."""
    spans: list[tuple[int, int]] = []
    start = end = digits = 0
    for i, char in enumerate(text):
        if unicodedata.decimal(char, None) is not None:
            if digits == 0:
                start = i
            digits, end = digits + 1, i + 1
        elif char.isalpha():
            if digits >= MIN_DIGITS:
                spans.append((start, end))
            digits = 0
    if digits >= MIN_DIGITS:
        spans.append((start, end))
    return spans


def _few_digits(text: str) -> bool:
    """Fewer than MIN_DIGITS digits in all of `text`: no stretch can hold a card number.

    str.isdecimal is true exactly where unicodedata.decimal has a value (category Nd), and
    counting in C spares most texts (ids, actors, log fields) the scan character by
    character."""
    return sum(map(str.isdecimal, text)) < MIN_DIGITS


def holds_card_number(text: str) -> bool:
    """True if `text` holds MIN_DIGITS or more digits with no letter between them."""
    # NFKC folds compatibility forms (circled, superscript digits) to digits first.
    text = unicodedata.normalize("NFKC", text)
    return not _few_digits(text) and bool(_spans(text))


def redact_card_numbers(text: str) -> str:
    """`text` (NFKC-normalised) with every stretch `holds_card_number` finds masked."""
    text = unicodedata.normalize("NFKC", text)
    if _few_digits(text):
        return text
    for start, end in reversed(_spans(text)):
        text = text[:start] + REDACTED + text[end:]
    return text
