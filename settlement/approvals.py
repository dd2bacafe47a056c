"""Fraud's approval to capture a charge it held for review (vault.domain.clearance).

It verifies fraud's signature with fraud's public key, which seals nothing, and compares
the card facts fraud scored (BIN, last four, fingerprint) with the card record's: no card
number, no CVC, none of the vault's crypto (tests/test_boundaries.py).
"""

from __future__ import annotations

from dataclasses import astuple

from sqlalchemy.orm import Session, sessionmaker

from vault.contracts import Clearance
from vault.domain.clearance import CardFacts, ExpectedCharge, open_clearance
from vault.domain.signed import VerifyKey
from vault.errors import ClearanceRefused
from vault.store.models import CardRecord, ChargeRecord


def verify_approval(
    key: VerifyKey,
    payload: str,
    signature: str,
    expected: ExpectedCharge,
    now: float,
    max_lifetime: int,
) -> CardFacts:
    """The card facts of fraud's approval to capture `expected`, a charge it held for
    review: an `allow` for exactly that charge and amount, unexpired and not too long-lived.
    A `review` clearance is no approval (it is what held the charge)."""
    cleared = open_clearance(key, payload, signature, expected, now, max_lifetime).unexpired(now)
    if cleared.held:
        raise ClearanceRefused("the clearance holds the charge for review; it approves nothing")
    return cleared.facts


class Approvals:
    """Checks fraud's approval of a held charge's capture against the charge and its card."""

    def __init__(
        self, sessions: sessionmaker[Session], fraud_key: VerifyKey, lifetime: int
    ) -> None:
        self._sessions = sessions
        self._key = fraud_key
        self._lifetime = lifetime

    def check(self, charge: ChargeRecord, clearance: Clearance, now: float, fresh: bool) -> None:
        """Raise ClearanceRefused unless `clearance` is fraud's approval of exactly `charge`
        (its id, card, marketplace, authorised amount, currency and mode, the card facts of
        its record) and, for a `fresh` capture, an unexpired `allow`. A replay's (not
        fresh) must be signed for this charge; its expiry is not held against it."""
        expected = ExpectedCharge(
            charge.charge_id,
            charge.token,
            charge.marketplace_id,
            charge.amount,
            charge.currency,
            charge.livemode,
        )
        args = (self._key, clearance.payload, clearance.signature, expected, now, self._lifetime)
        facts = verify_approval(*args) if fresh else open_clearance(*args).facts
        with self._sessions() as session:
            card = session.get(CardRecord, charge.token)
        if card is None or (card.bin, card.last4, card.fingerprint) != astuple(facts):
            # Fraud approved another card than this charge's (fail closed).
            raise ClearanceRefused("the card is not the one fraud assessed")
