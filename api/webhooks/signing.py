"""Webhook signatures: HMAC-SHA256 over `timestamp.raw_body`, as Stripe signs them.

Header: `Stripe-Signature: t=<unix seconds>,v1=<hex digest>`, Stripe's exact scheme (the key
is the whole `whsec_…` string), so `stripe.Webhook.construct_event` and every framework's
Stripe middleware verify it unchanged. The same value goes in `Strongroom-Signature`, its
older name. The timestamp is signed with the body, so a captured delivery cannot be replayed
outside the tolerance window. After a roll asked to keep the old secret for a while, the
header carries two v1 signatures, the new secret's first: `t=…,v1=<new>,v1=<old>`.

An endpoint's secret is derived from the stack's secret, the endpoint id and a version,
never stored: a copy of the database forges no webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

HEADER = "Stripe-Signature"
OLD_HEADER = "Strongroom-Signature"
TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The signature header is missing, malformed, wrong or too old."""


def endpoint_secret(stack_secret: bytes, endpoint_id: str, version: int) -> str:
    mac = hmac.new(stack_secret, f"webhook-secret:{endpoint_id}:{version}".encode(), "sha256")
    return "whsec_" + base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def sign(secret: str, timestamp: int, payload: bytes, *older: str) -> str:
    """The header value for `payload` sent at `timestamp`: one v1 signature by `secret`,
    then one by each of `older` (secrets a roll keeps signing while they expire), as
    Stripe's header carries them; a receiver holding any one of them verifies."""
    signed = str(timestamp).encode() + b"." + payload
    macs = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in (secret, *older)]
    return ",".join([f"t={timestamp}", *(f"v1={mac}" for mac in macs)])


def verify(
    payload: bytes,
    header: str | None,
    secret: str,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """The signed timestamp if `header` signs exactly these raw bytes recently enough."""
    if not header:
        raise SignatureError("no signature header")
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("malformed signature header")
    expected = sign(secret, timestamp, payload).partition("v1=")[2]
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("signature does not match the payload")
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance window")
    return timestamp
