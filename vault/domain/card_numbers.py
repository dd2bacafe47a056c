"""The vault's one check for a card number in text: names, audit fields and log lines.

Stricter than a card-number detector needs to be, because the text it guards (a
cardholder's name, an audit field, a log message) never has a reason to hold many digits:
any twelve digits that no letter parts — whatever else parts them (spaces, dashes, dots,
colons, commas, slashes, any punctuation or symbol) and whatever script they are written
in (Unicode decimal digits: Arabic-Indic, full-width, …) — count as a card number. No Luhn
test: a number refused in error is a typo to fix, a number let through is a leak.

A character this Python's Unicode does not assign (category Cn) counts as a digit too: a
later Python may read it as one (Kawi digits, Unicode 15, are unassigned in 3.11's table and
decimal to 3.12's `int()`), and a name or a log field has no need of one.
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
        if unicodedata.decimal(char, None) is not None or _unassigned(char):
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


def _unassigned(char: str) -> bool:
    return char > "\x7f" and unicodedata.category(char) == "Cn"


def _few_digits(text: str) -> bool:
    """Fewer than MIN_DIGITS digits (and unassigned characters) in all of `text`: no
    stretch can hold a card number.

    str.isdecimal is true exactly where unicodedata.decimal has a value (category Nd), and
    counting in C spares most texts (ids, actors, log fields) the scan character by
    character; only a text with non-ASCII characters is looked at for unassigned ones."""
    digits = sum(map(str.isdecimal, text))
    if digits < MIN_DIGITS and not text.isascii():
        digits += sum(map(_unassigned, text))
    return digits < MIN_DIGITS


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
