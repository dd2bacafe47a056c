"""The Luhn (mod 10) check digit, as ISO/IEC 7812-1 defines it."""

from __future__ import annotations


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty string of 0-9 only (str.isdigit() also accepts e.g. Arabic digits)."""
    return text.isascii() and text.isdigit()


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits ends in a correct Luhn check digit."""
    if not is_ascii_digits(digits):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0
