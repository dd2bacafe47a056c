"""The documented test cards, and Luhn-valid numbers generated on demand."""

from __future__ import annotations

import secrets

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
FRAUD_BLOCKED = "4100000000000019"
PENDING_REVIEW = "4000000000004954"

TEST_CARDS = frozenset({SUCCEEDS, DECLINED, INSUFFICIENT_FUNDS, FRAUD_BLOCKED, PENDING_REVIEW})


def luhn_check_digit(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these sit at odd positions once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def generated_card(prefix: str = "49", length: int = 16) -> str:
    """A random Luhn-valid number, never one of the documented test cards."""
    while True:
        body = prefix + "".join(
            secrets.choice("0123456789") for _ in range(length - len(prefix) - 1)
        )
        number = body + luhn_check_digit(body)
        if number not in TEST_CARDS:
            return number
