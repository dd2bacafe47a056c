"""The documented test cards (Stripe's published numbers), and Luhn-valid numbers for live mode.

Test mode takes only these cards: the vault refuses any other number there (and refuses
these in live mode). vault/domain/test_network.py holds the same list with each card's
outcome; tests/strongroom/test_testcards.py keeps the two equal.
"""

from __future__ import annotations

import secrets

SUCCEEDS = "4242424242424242"
VISA_2 = "4012888888881881"
VISA_DEBIT = "4000056655665556"
MASTERCARD = "5555555555554444"
MASTERCARD_2_SERIES = "2223003122003222"
MASTERCARD_DEBIT = "5200828282828210"
MASTERCARD_PREPAID = "5105105105105100"
AMEX = "378282246310005"
AMEX_2 = "371449635398431"
DISCOVER = "6011111111111117"
DISCOVER_2 = "6011000990139424"

DECLINED = "4000000000000002"  # card_declined
INSUFFICIENT_FUNDS = "4000000000009995"
LOST_CARD = "4000000000009987"
STOLEN_CARD = "4000000000009979"
VELOCITY_EXCEEDED = "4000000000006975"  # card_velocity_exceeded
PROCESSING_ERROR = "4000000000000119"
INCORRECT_CVC = "4000000000000127"
CVC_CHECK_FAILS = "4000000000000101"  # incorrect_cvc
EXPIRED_CARD = "4000000000000069"

FRAUD_BLOCKED = "4100000000000019"
PENDING_REVIEW = "4000000000004954"

BRANDS = (
    SUCCEEDS,
    VISA_2,
    VISA_DEBIT,
    MASTERCARD,
    MASTERCARD_2_SERIES,
    MASTERCARD_DEBIT,
    MASTERCARD_PREPAID,
    AMEX,
    AMEX_2,
    DISCOVER,
    DISCOVER_2,
)
DECLINES = {
    DECLINED: "card_declined",
    INSUFFICIENT_FUNDS: "insufficient_funds",
    LOST_CARD: "lost_card",
    STOLEN_CARD: "stolen_card",
    VELOCITY_EXCEEDED: "card_velocity_exceeded",
    PROCESSING_ERROR: "processing_error",
    INCORRECT_CVC: "incorrect_cvc",
    CVC_CHECK_FAILS: "incorrect_cvc",
    EXPIRED_CARD: "expired_card",
}
TEST_CARDS = frozenset({*BRANDS, *DECLINES, FRAUD_BLOCKED, PENDING_REVIEW})


def luhn_check_digit(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these sit at odd positions once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def generated_card(prefix: str = "49", length: int = 16) -> str:
    """A random Luhn-valid number, never a test card: for live mode only (test mode refuses it)."""
    while True:
        body = prefix + "".join(
            secrets.choice("0123456789") for _ in range(length - len(prefix) - 1)
        )
        number = body + luhn_check_digit(body)
        if number not in TEST_CARDS:
            return number
