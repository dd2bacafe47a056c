"""Verifying fraud's signed clearance: permission for exactly one charge, briefly.

docs/internal-api.md: `payload` is base64url (no padding) of canonical JSON of
{charge_id, card, marketplace, amount, currency, livemode, decision, expires_at};
`signature` is base64url of fraud's Ed25519 signature over those payload bytes.
Every check failure raises ClearanceRefused naming the check, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault.errors import ClearanceRefused

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_FIELDS = frozenset(
    {"charge_id", "card", "marketplace", "amount", "currency", "livemode", "decision", "expires_at"}
)


@dataclass(frozen=True, slots=True)
class ExpectedCharge:
    """The charge as the vault was asked to execute it, the mode from the caller's credential."""

    charge_id: str
    card: str
    marketplace: str
    amount: int
    currency: str
    livemode: bool


def _b64url_decode(text: str, what: str) -> bytes:
    # Strict alphabet: the stdlib decoder silently skips stray characters.
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ClearanceRefused(f"the {what} is not base64url")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise ClearanceRefused(f"the {what} is not base64url") from None


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers may keep different copies of a duplicated key: refuse the ambiguity.
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ClearanceRefused("the payload has a duplicate key")
    return dict(pairs)


def _refuse_constant(name: str) -> NoReturn:
    raise ClearanceRefused("the payload is not valid JSON")


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(
            payload, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except (ValueError, UnicodeDecodeError):
        raise ClearanceRefused("the payload is not valid JSON") from None
    if not isinstance(body, dict):
        raise ClearanceRefused("the payload is not a JSON object")
    return body


def _is_int(value: Any) -> bool:
    # JSON true would otherwise compare equal to an amount of 1.
    return isinstance(value, int) and not isinstance(value, bool)


def verify_clearance(
    key: Ed25519PublicKey, payload: str, signature: str, expected: ExpectedCharge, now: float
) -> None:
    """Return only if fraud allowed exactly `expected` and the permission has not expired."""
    payload_bytes = _b64url_decode(payload, "payload")
    signature_bytes = _b64url_decode(signature, "signature")
    try:
        # Authenticity first: nothing in the payload is looked at before the signature holds.
        key.verify(signature_bytes, payload_bytes)
    except InvalidSignature:
        raise ClearanceRefused("the signature does not verify") from None
    body = _parse(payload_bytes)
    if set(body) != _FIELDS:
        raise ClearanceRefused("the payload does not have exactly the expected fields")
    if body["decision"] != "allow":
        raise ClearanceRefused("the decision is not allow")
    if body["livemode"] is not expected.livemode:
        raise ClearanceRefused("livemode does not match the caller's mode")
    for field in ("charge_id", "card", "marketplace", "currency"):
        if not isinstance(body[field], str) or body[field] != getattr(expected, field):
            raise ClearanceRefused(f"{field} does not match the request")
    if not _is_int(body["amount"]) or body["amount"] != expected.amount:
        raise ClearanceRefused("amount does not match the request")
    if not _is_int(body["expires_at"]):
        raise ClearanceRefused("expires_at is not a unix time")
    if body["expires_at"] <= now:
        raise ClearanceRefused("the clearance has expired")
