"""Keyed digests: the card fingerprint and the stored form of merchant API keys."""

from __future__ import annotations

import base64
import hashlib
import hmac

from vault.domain.secret import Pan

FINGERPRINT_LENGTH = 22  # 132 bits of the HMAC: ample to tell cards apart, nothing to invert.


def card_fingerprint(key: bytes, marketplace: str, livemode: bool, pan: Pan) -> str:
    """The same card gives the same fingerprint within a marketplace and mode, unrelated ones
    elsewhere.

    Keyed, because an unkeyed hash of a PAN is brute-forced in minutes (few unknown digits);
    per marketplace, so two marketplaces cannot link their customers' cards; per mode, so a
    number tokenised in test mode can never be matched against a live card's fingerprint.
    Marketplace ids never contain ":", so the input is unambiguous.
    """
    message = f"{'live' if livemode else 'test'}:{marketplace}:{pan.reveal()}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:FINGERPRINT_LENGTH]


def api_key_hash(secret: bytes, api_key: str) -> bytes:
    """What the vault stores of a merchant key: a stolen DB does not yield usable keys."""
    return hmac.new(secret, api_key.encode(), hashlib.sha256).digest()
