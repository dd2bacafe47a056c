"""Test mode's stand-in for the card network: deterministic outcomes, no I/O at all."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from vault.domain.secret import Pan

# The documented test cards (README). Only these may be refused as "test card in live mode".
TEST_CARDS = frozenset(
    {
        "4242424242424242",  # succeeds
        "4000000000000002",  # declined: card_declined
        "4000000000009995",  # declined: insufficient_funds
        "4100000000000019",  # blocked by fraud, never reaches the vault's charge
        "4000000000004954",  # held for review by fraud
        "5555555555554444",  # succeeds (Mastercard)
        "378282246310005",  # succeeds (American Express)
    }
)

_DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}

FAILURE_MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again later.",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an authorisation came to: approved with a code, or declined for a reason."""

    approved: bool
    failure_code: str | None = None
    authorization_code: str | None = None


def is_test_card(pan: Pan) -> bool:
    return pan.reveal() in TEST_CARDS


def authorize_test(pan: Pan, charge_id: str) -> Outcome:
    """The test-mode answer for this card; the same charge id always gets the same code."""
    decline = _DECLINES.get(pan.reveal())
    if decline is not None:
        return Outcome(approved=False, failure_code=decline)
    code = hashlib.sha256(b"test-authorization:" + charge_id.encode()).hexdigest()[:6].upper()
    return Outcome(approved=True, authorization_code=code)
