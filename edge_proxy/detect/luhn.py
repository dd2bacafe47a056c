"""The Luhn (mod 10) check digit test that every issued card number passes."""

from __future__ import annotations

# Digit d at an even position from the right is doubled; the digits of 2d are summed.
_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")


def luhn_valid(digits: str) -> bool:
    """True when the ASCII digit string passes the Luhn check."""
    odd = digits[-1::-2].encode("ascii")
    even = digits[-2::-2].encode("ascii").translate(_DOUBLED)
    return (sum(odd) + sum(even) - 48 * len(digits)) % 10 == 0
