"""Clearance verification: only fraud's signature over exactly this charge, unexpired."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.domain.clearance import (
    CardFacts,
    ExpectedCharge,
    open_clearance,
)
from vault.errors import ClearanceRefused

NOW = 1_800_000_000
LIFETIME = 120
KEY = Ed25519PrivateKey.generate()
EXPECTED = ExpectedCharge("ch_1", "card_abc", "mkt_alpha", 1000, "usd", False)
FIELDS: dict[str, Any] = {
    "charge_id": "ch_1",
    "card": "card_abc",
    "bin": "424242",
    "last4": "4242",
    "fingerprint": "fp_abc",
    "marketplace": "mkt_alpha",
    "amount": 1000,
    "currency": "usd",
    "livemode": False,
    "decision": "allow",
    "expires_at": NOW + 60,
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(payload: bytes, key: Ed25519PrivateKey = KEY) -> tuple[str, str]:
    return b64url(payload), b64url(key.sign(payload))


def canonical(**changes: Any) -> bytes:
    body = {k: v for k, v in {**FIELDS, **changes}.items() if v is not ...}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def refusal(payload: str, signature: str, expected: ExpectedCharge = EXPECTED) -> str:
    with pytest.raises(ClearanceRefused) as caught:
        open_clearance(KEY.public_key(), payload, signature, expected, NOW, LIFETIME).unexpired(NOW)
    assert caught.value.status_code == 403 and caught.value.code == "clearance_invalid"
    return caught.value.message


def test_a_clearance_for_exactly_this_charge_verifies_and_names_the_card_scored() -> None:
    cleared = open_clearance(KEY.public_key(), *signed(canonical()), EXPECTED, NOW, LIFETIME)
    assert cleared.unexpired(NOW).facts == CardFacts("424242", "4242", "fp_abc")


def test_a_clearance_living_longer_than_fraud_grants_is_refused() -> None:
    ten_years = NOW + 10 * 365 * 86400
    assert "longer" in refusal(*signed(canonical(expires_at=ten_years)))
    assert "longer" in refusal(*signed(canonical(expires_at=NOW + LIFETIME + 1)))
    open_clearance(
        KEY.public_key(), *signed(canonical(expires_at=NOW + LIFETIME)), EXPECTED, NOW, LIFETIME
    ).unexpired(NOW)


def test_card_facts_must_be_strings() -> None:
    assert "card facts" in refusal(*signed(canonical(bin=424242)))


def test_an_expired_clearance_is_refused() -> None:
    assert "expired" in refusal(*signed(canonical(expires_at=NOW)))
    assert "expired" in refusal(*signed(canonical(expires_at=NOW - 1)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 1001),
        ("amount", 1000.0),
        ("amount", "1000"),
        ("currency", "eur"),
        ("card", "card_other"),
        ("marketplace", "mkt_beta"),
        ("charge_id", "ch_2"),
    ],
)
def test_a_clearance_for_another_charge_is_refused(field: str, value: Any) -> None:
    assert f"{field} does not match" in refusal(*signed(canonical(**{field: value})))


def test_a_clearance_for_the_other_mode_is_refused() -> None:
    assert "livemode" in refusal(*signed(canonical(livemode=True)))
    live = ExpectedCharge("ch_1", "card_abc", "mkt_alpha", 1000, "usd", True)
    assert "livemode" in refusal(*signed(canonical()), expected=live)
    assert "livemode" in refusal(*signed(canonical(livemode=0)))


@pytest.mark.parametrize("decision", ["block", "ALLOW", "Review", None])
def test_a_decision_other_than_allow_or_review_is_refused(decision: Any) -> None:
    assert "decision" in refusal(*signed(canonical(decision=decision)))


def test_a_review_clearance_authorises_and_says_the_charge_is_held() -> None:
    key = KEY.public_key()
    held = open_clearance(key, *signed(canonical(decision="review")), EXPECTED, NOW, LIFETIME)
    assert held.held and held.facts == CardFacts("424242", "4242", "fp_abc")
    allowed = open_clearance(key, *signed(canonical()), EXPECTED, NOW, LIFETIME)
    assert not allowed.held


def test_an_expired_clearance_still_opens_for_a_replay_but_is_not_unexpired() -> None:
    key = KEY.public_key()
    expired = open_clearance(key, *signed(canonical(expires_at=NOW - 600)), EXPECTED, NOW, LIFETIME)
    assert expired.facts == CardFacts("424242", "4242", "fp_abc")
    with pytest.raises(ClearanceRefused, match="expired"):
        expired.unexpired(NOW)
    # Binding and signature are still checked when the expiry is not.
    with pytest.raises(ClearanceRefused, match="amount"):
        open_clearance(key, *signed(canonical(amount=5, expires_at=NOW - 600)), EXPECTED, NOW, 1)


def test_a_tampered_payload_or_signature_is_refused() -> None:
    payload, signature = signed(canonical())
    tampered_payload = b64url(canonical(amount=1))
    assert "signature" in refusal(tampered_payload, signature)
    raw = bytearray(KEY.sign(canonical()))
    raw[0] ^= 1
    assert "signature" in refusal(payload, b64url(bytes(raw)))
    assert "signature" in refusal(payload, b64url(b"short"))


def test_a_clearance_signed_by_another_key_is_refused() -> None:
    assert "signature" in refusal(*signed(canonical(), Ed25519PrivateKey.generate()))


def test_duplicate_keys_in_the_payload_are_refused() -> None:
    # The second "amount" would win in Python; another parser might keep the first.
    payload = canonical().replace(b'"amount":1000', b'"amount":1,"amount":1000')
    assert "duplicate key" in refusal(*signed(payload))


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"amount": NaN}',
        canonical(extra=1),
        canonical(expires_at=...),
        b"\xff\xfe",
    ],
)
def test_payloads_that_are_not_the_expected_object_are_refused(payload: bytes) -> None:
    refusal(*signed(payload))


def test_expires_at_must_be_an_integer() -> None:
    assert "expires_at" in refusal(*signed(canonical(expires_at=float(NOW + 60))))
    assert "expires_at" in refusal(*signed(canonical(expires_at=True)))


@pytest.mark.parametrize(
    "mangle", [lambda s: s + "=", lambda s: s + "!", lambda s: "+" + s[1:], lambda s: s[:-1]]
)
def test_payload_must_be_strict_base64url(mangle: Any) -> None:
    payload, signature = signed(canonical())
    refusal(mangle(payload), signature)


def test_refusal_messages_never_quote_values() -> None:
    message = refusal(*signed(canonical(card="card_4242424242424242")))
    assert "4242" not in message
