import base64
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fraud.signing import ClearanceSigner, load_signing_key


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


FIELDS = {
    "charge_id": "ch_x",
    "card": "card_y",
    "marketplace": "mkt_z",
    "amount": 5,
    "currency": "usd",
    "livemode": False,
}


def test_clearance_signs_exactly_the_fields_an_allow_and_an_expiry() -> None:
    key = Ed25519PrivateKey.generate()
    clearance = ClearanceSigner(key, ttl_seconds=120).sign(FIELDS, now=1000)
    payload = unb64(clearance.payload)
    key.public_key().verify(unb64(clearance.signature), payload)
    assert json.loads(payload) == {**FIELDS, "decision": "allow", "expires_at": 1120}
    assert (
        payload == json.dumps(json.loads(payload), sort_keys=True, separators=(",", ":")).encode()
    )


def test_a_changed_payload_no_longer_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    clearance = ClearanceSigner(key, 120).sign(FIELDS)
    tampered = unb64(clearance.payload).replace(b'"amount":5', b'"amount":6')
    with pytest.raises(InvalidSignature):
        key.public_key().verify(unb64(clearance.signature), tampered)


def test_signing_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        load_signing_key(base64.b64encode(b"short").decode())
