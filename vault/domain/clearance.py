"""Verifying fraud's signed clearance: permission for exactly one charge, briefly.

docs/internal-api.md: `payload` is base64url (no padding) of canonical JSON of
{charge_id, card, bin, last4, fingerprint, marketplace, amount, currency, livemode,
decision, expires_at}, the decision `allow` or `review` (authorise and hold: the capture
needs an approval clearance, settlement.approvals); the card facts are what fraud scored,
which the vault checks against the card's record;
`signature` is base64url of fraud's Ed25519 signature over those payload bytes.
Every check failure raises ClearanceRefused naming the check, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault.domain.signed import is_int, open_signed
from vault.errors import ClearanceRefused

_FIELDS = frozenset(
    {
        "charge_id",
        "card",
        "bin",
        "last4",
        "fingerprint",
        "marketplace",
        "amount",
        "currency",
        "livemode",
        "decision",
        "expires_at",
    }
)
# allow: execute the charge. review: authorise it and hold it; its capture needs fraud's
# approval, a fresh `allow` clearance for the same charge (fraud's POST /v1/approvals).
_DECISIONS = ("allow", "review")


@dataclass(frozen=True, slots=True)
class ExpectedCharge:
    """The charge as the vault was asked to execute it, the mode from the caller's credential."""

    charge_id: str
    card: str
    marketplace: str
    amount: int
    currency: str
    livemode: bool


@dataclass(frozen=True, slots=True)
class CardFacts:
    """The card as fraud scored it; the vault compares them with the card's record."""

    bin: str
    last4: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Cleared:
    """A clearance whose signature and binding verified; its expiry is the caller's to hold
    against it (a replay of an executed charge is answered whatever the expiry)."""

    facts: CardFacts
    held: bool  # fraud held the charge for review: its capture needs an approval clearance
    expires_at: int

    def unexpired(self, now: float) -> Cleared:
        """This clearance, if it has not expired at `now`."""
        if self.expires_at <= now:
            raise ClearanceRefused("the clearance has expired")
        return self


def open_clearance(
    key: Ed25519PublicKey,
    payload: str,
    signature: str,
    expected: ExpectedCharge,
    now: float,
    max_lifetime: int,
) -> Cleared:
    """Fraud's permission for exactly `expected` (decision allow, or review: authorise and
    hold), not given for longer than `max_lifetime` seconds; its expiry is not checked."""
    body = open_signed(key, payload, signature, ClearanceRefused)
    if set(body) != _FIELDS:
        raise ClearanceRefused("the payload does not have exactly the expected fields")
    if body["decision"] not in _DECISIONS:
        raise ClearanceRefused("the decision is not allow or review")
    if body["livemode"] is not expected.livemode:
        raise ClearanceRefused("livemode does not match the caller's mode")
    for field in ("charge_id", "card", "marketplace", "currency"):
        if not isinstance(body[field], str) or body[field] != getattr(expected, field):
            raise ClearanceRefused(f"{field} does not match the request")
    if not is_int(body["amount"]) or body["amount"] != expected.amount:
        raise ClearanceRefused("amount does not match the request")
    if not is_int(body["expires_at"]):
        raise ClearanceRefused("expires_at is not a unix time")
    if body["expires_at"] > now + max_lifetime:
        # Longer than fraud ever grants: a forged or mis-issued permission, kept for later.
        raise ClearanceRefused("the clearance lives longer than fraud's clearances may")
    facts = [body[field] for field in ("bin", "last4", "fingerprint")]
    if not all(isinstance(fact, str) for fact in facts):
        raise ClearanceRefused("the card facts are not strings")
    return Cleared(CardFacts(*facts), body["decision"] == "review", body["expires_at"])
