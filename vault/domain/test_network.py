"""Test mode's stand-in for the card network: deterministic outcomes, no I/O at all.

Test mode takes only the published test cards below (Stripe's numbers, docs/vault.md):
no real card can be tokenised in test mode, so tokenising guesses there learns nothing
of a live card. Live mode refuses them. strongroom/testcards.py holds the same list for
tests and the demo (the vault imports nothing of the repository; a test keeps them equal).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from vault.domain.secret import Pan

# number -> the decline code the test network answers, or None: approved.
TEST_CARDS: dict[str, str | None] = {
    # Brands: each succeeds.
    "4242424242424242": None,  # Visa
    "4012888888881881": None,  # Visa
    "4000056655665556": None,  # Visa (debit)
    "5555555555554444": None,  # Mastercard
    "2223003122003222": None,  # Mastercard (2-series)
    "5200828282828210": None,  # Mastercard (debit)
    "5105105105105100": None,  # Mastercard (prepaid)
    "378282246310005": None,  # American Express
    "371449635398431": None,  # American Express
    "6011111111111117": None,  # Discover
    "6011000990139424": None,  # Discover
    # Declines, by reason.
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000009987": "lost_card",
    "4000000000009979": "stolen_card",
    "4000000000006975": "card_velocity_exceeded",
    "4000000000000119": "processing_error",
    # CVC and expiry failures.
    "4000000000000127": "incorrect_cvc",
    "4000000000000101": "incorrect_cvc",  # the CVC check fails
    "4000000000000069": "expired_card",
    # Fraud's own (fraud decides on BIN and last four; the network would approve).
    "4100000000000019": None,  # always blocked by fraud
    "4000000000004954": None,  # always held for review by fraud
}

FAILURE_MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "card_velocity_exceeded": "Your card was declined for making repeated attempts too often.",
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
    decline = TEST_CARDS.get(pan.reveal())
    if decline is not None:
        return Outcome(approved=False, failure_code=decline)
    code = hashlib.sha256(b"test-authorization:" + charge_id.encode()).hexdigest()[:6].upper()
    return Outcome(approved=True, authorization_code=code)
