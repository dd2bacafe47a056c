"""Clearances: the signed permission the vault requires before it executes a charge."""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fraud.contracts import Clearance


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_signing_key(encoded: str) -> Ed25519PrivateKey:
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) != 32:
        raise ValueError("the fraud signing key must be 32 bytes of base64")
    return Ed25519PrivateKey.from_private_bytes(raw)


class ClearanceSigner:
    def __init__(self, key: Ed25519PrivateKey, ttl_seconds: int) -> None:
        self._key = key
        self._ttl = ttl_seconds

    def sign(
        self,
        fields: dict[str, Any],
        now: float | None = None,
        decision: Literal["allow", "review"] = "allow",
    ) -> Clearance:
        """Sign exactly these fields, the decision and an expiry, nothing else. `review`
        lets the vault authorise and hold the charge: its capture then needs an approval
        (an `allow` for that charge, signed when a person approves; fraud/approvals.py)."""
        issued = int(time.time() if now is None else now)
        body = {**fields, "decision": decision, "expires_at": issued + self._ttl}
        # Canonical JSON, so the vault verifies the very bytes that were signed.
        payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return Clearance(payload=b64url(payload), signature=b64url(self._key.sign(payload)))
