"""vault.domain.signed: base64url with one spelling, payloads read as UTF-8 JSON only."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from vault.domain.signed import b64url_decode, open_signed

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@given(st.binary(max_size=100))
def test_what_is_encoded_decodes_to_itself(data: bytes) -> None:
    assert b64url_decode(b64url(data)) == data


@given(st.text(ALPHABET, max_size=100))
def test_a_text_decodes_only_if_it_is_the_one_spelling_of_what_it_decodes_to(text: str) -> None:
    # The last character's unused bits are ignored by base64 decoders: 16 spellings of one
    # 64-byte signature would verify, and a signature would not name one request.
    try:
        data = b64url_decode(text)
    except ValueError:
        return
    assert b64url(data) == text


def test_a_signature_spelt_with_other_unused_bits_is_refused() -> None:
    spelt = b64url(bytes(64))  # 86 characters: the last carries 4 unused bits
    assert b64url_decode(spelt) == bytes(64)
    with pytest.raises(ValueError):
        b64url_decode(spelt[:-1] + "B")


class Refused(Exception):
    pass


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_payload_signed_in_another_encoding_is_refused(encoding: str) -> None:
    key = Ed25519PrivateKey.generate()
    payload = json.dumps({"charge_id": "ch_1", "amount": 100}).encode(encoding)
    with pytest.raises(Refused, match="not valid JSON"):
        open_signed(key.public_key(), b64url(payload), b64url(key.sign(payload)), Refused)
    utf8 = json.dumps({"charge_id": "ch_1", "amount": 100}).encode()
    opened = open_signed(key.public_key(), b64url(utf8), b64url(key.sign(utf8)), Refused)
    assert opened == {"charge_id": "ch_1", "amount": 100}
