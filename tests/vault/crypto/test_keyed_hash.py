"""Fingerprints and stored key hashes are keyed, scoped and fixed-length."""

from __future__ import annotations

import base64
import hashlib
import hmac

from vault.crypto.keyed_hash import api_key_hash, card_fingerprint
from vault.domain.secret import Pan

KEY = b"f" * 32
PAN = Pan("4242424242424242")


def test_fingerprint_is_the_documented_hmac() -> None:
    mac = hmac.new(KEY, b"live:mkt_alpha:4242424242424242", hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(mac).decode()[:22]
    assert card_fingerprint(KEY, "mkt_alpha", True, PAN) == expected


def test_fingerprint_depends_on_card_marketplace_mode_and_key() -> None:
    base = card_fingerprint(KEY, "mkt_alpha", True, PAN)
    assert base == card_fingerprint(KEY, "mkt_alpha", True, Pan("4242424242424242"))
    assert base != card_fingerprint(KEY, "mkt_beta", True, PAN)
    assert base != card_fingerprint(KEY, "mkt_alpha", False, PAN)
    assert base != card_fingerprint(b"g" * 32, "mkt_alpha", True, PAN)
    assert base != card_fingerprint(KEY, "mkt_alpha", True, Pan("5555555555554444"))
    assert len(base) == 22 and "4242" not in base


def test_api_key_hash_is_hmac_sha256_under_the_secret() -> None:
    assert api_key_hash(b"s", "pk_test_x") == hmac.new(b"s", b"pk_test_x", hashlib.sha256).digest()
    assert api_key_hash(b"s", "pk_test_x") != api_key_hash(b"t", "pk_test_x")
