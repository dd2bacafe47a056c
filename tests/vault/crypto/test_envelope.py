"""Envelope encryption: round trips, fresh nonces, and refusal of anything tampered or moved."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from vault.crypto.envelope import Envelope, IntegrityError, RecordKey, Sealed, record_aad
from vault.crypto.keyring import KeyringError, LocalKeyring

AAD = record_aad("card_x", "mkt_alpha", False, "pan")


@pytest.fixture(scope="module")
def envelope(tmp_path_factory: pytest.TempPathFactory) -> Envelope:
    return Envelope(LocalKeyring(tmp_path_factory.mktemp("keys") / "keyring.json"))


def test_known_answer_for_aes_256_gcm() -> None:
    # McGrew-Viega GCM test cases 13 and 14: zero 256-bit key, zero nonce, no AAD.
    key = RecordKey(bytes(32), 1, b"")
    empty = Sealed(bytes(12), bytes.fromhex("530f8afbc74536b9a963b4f1c4cb738b"))
    assert key.open(empty, b"") == b""
    block = "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919"
    assert key.open(Sealed(bytes(12), bytes.fromhex(block)), b"") == bytes(16)


@given(st.binary(max_size=64), st.text(max_size=20), st.text(max_size=20), st.booleans())
def test_sealed_fields_open_to_what_was_sealed(
    plaintext: bytes, token: str, market: str, live: bool
) -> None:
    key = RecordKey(os.urandom(32), 1, b"w")
    aad = record_aad(token, market, live, "pan")
    assert key.open(key.seal(plaintext, aad), aad) == plaintext


def test_record_keys_round_trip_through_the_key_provider(envelope: Envelope) -> None:
    key = envelope.new_record_key()
    sealed = key.seal(b"4242424242424242", AAD)
    again = envelope.record_key(key.key_version, key.wrapped)
    assert again.open(sealed, AAD) == b"4242424242424242"


def test_every_seal_uses_a_fresh_nonce_and_every_record_a_fresh_key(envelope: Envelope) -> None:
    key = envelope.new_record_key()
    nonces = {key.seal(b"same", AAD).nonce for _ in range(200)}
    assert len(nonces) == 200 and all(len(n) == 12 for n in nonces)
    wrapped = {envelope.new_record_key().wrapped for _ in range(50)}
    assert len(wrapped) == 50


@pytest.mark.parametrize(
    "other",
    [
        record_aad("card_y", "mkt_alpha", False, "pan"),
        record_aad("card_x", "mkt_beta", False, "pan"),
        record_aad("card_x", "mkt_alpha", True, "pan"),
        record_aad("card_x", "mkt_alpha", False, "cvc"),
    ],
)
def test_a_ciphertext_moved_to_another_token_owner_mode_or_field_is_refused(other: bytes) -> None:
    key = RecordKey(os.urandom(32), 1, b"w")
    sealed = key.seal(b"4242424242424242", AAD)
    with pytest.raises(IntegrityError):
        key.open(sealed, other)


@given(st.data())
def test_any_flipped_bit_is_refused(data: st.DataObject) -> None:
    key = RecordKey(os.urandom(32), 1, b"w")
    sealed = key.seal(b"4242424242424242", AAD)
    in_nonce = data.draw(st.booleans())
    blob = bytearray(sealed.nonce if in_nonce else sealed.ciphertext)
    index = data.draw(st.integers(0, len(blob) - 1))
    blob[index] ^= 1 << data.draw(st.integers(0, 7))
    tampered = (
        Sealed(bytes(blob), sealed.ciphertext) if in_nonce else Sealed(sealed.nonce, bytes(blob))
    )
    with pytest.raises(IntegrityError):
        key.open(tampered, AAD)


def test_another_records_key_cannot_open_it() -> None:
    sealed = RecordKey(os.urandom(32), 1, b"w").seal(b"x", AAD)
    with pytest.raises(IntegrityError):
        RecordKey(os.urandom(32), 1, b"w").open(sealed, AAD)


def test_a_tampered_wrapped_key_is_refused(envelope: Envelope) -> None:
    key = envelope.new_record_key()
    wrapped = bytearray(key.wrapped)
    wrapped[-1] ^= 1
    with pytest.raises(KeyringError):
        envelope.record_key(key.key_version, bytes(wrapped))
    with pytest.raises(KeyringError):
        envelope.record_key(99, key.wrapped)


def test_the_aad_encoding_is_unambiguous() -> None:
    assert record_aad("a:b", "c", False, "pan") != record_aad("a", "b:c", False, "pan")


def test_a_record_key_does_not_print_its_key() -> None:
    dek = os.urandom(32)
    assert dek.hex() not in repr(RecordKey(dek, 3, b"w")) and "3" in repr(RecordKey(dek, 3, b"w"))


def test_ciphertext_is_not_the_plaintext(tmp_path: Path) -> None:
    key = RecordKey(AESGCM.generate_key(bit_length=256), 1, b"w")
    assert b"4242424242424242" not in key.seal(b"4242424242424242", AAD).ciphertext
