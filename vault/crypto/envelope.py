"""Envelope encryption of card records with AES-256-GCM.

Each card record has its own random 256-bit data key (DEK); the DEK encrypts the record's
fields and is stored only wrapped by the key provider's master key. A leaked DEK exposes
one card, and rotating the master key means rewrapping DEKs, not re-encrypting cards.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.crypto.keyring import KEY_BYTES, NONCE_BYTES, KeyProvider


class IntegrityError(Exception):
    """A ciphertext failed authentication: tampered, moved to another record, or wrong key."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """One encrypted field: its nonce and its ciphertext with the GCM tag appended."""

    nonce: bytes
    ciphertext: bytes


def record_aad(token: str, marketplace: str, livemode: bool, field: str) -> bytes:
    """Associated data binding a ciphertext to its token, owner, mode and field.

    A ciphertext copied to another record, marketplace, mode or column fails to decrypt.
    Canonical JSON, so no two different tuples give the same bytes.
    """
    body = {
        "v": 1,
        "token": token,
        "marketplace": marketplace,
        "livemode": livemode,
        "field": field,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


class RecordKey:
    """A record's data key, in the clear only in memory, with its wrapped form for storage."""

    __slots__ = ("_aead", "key_version", "wrapped")

    def __init__(self, dek: bytes, key_version: int, wrapped: bytes) -> None:
        if len(dek) != KEY_BYTES:
            raise IntegrityError("a data key is not 32 bytes")
        self._aead = AESGCM(dek)
        self.key_version = key_version
        self.wrapped = wrapped

    def seal(self, plaintext: bytes, aad: bytes) -> Sealed:
        """Encrypt one field under this record's key."""
        # A fresh random 96-bit nonce per encryption: never reuse a nonce under one key.
        nonce = os.urandom(NONCE_BYTES)
        return Sealed(nonce, self._aead.encrypt(nonce, plaintext, aad))

    def open(self, sealed: Sealed, aad: bytes) -> bytes:
        """Decrypt one field; refuse it unless it is intact and belongs to `aad`."""
        try:
            return self._aead.decrypt(sealed.nonce, sealed.ciphertext, aad)
        except InvalidTag:
            raise IntegrityError("a card record failed authentication") from None

    def __repr__(self) -> str:
        return f"RecordKey(version={self.key_version})"


class Envelope:
    """Makes and opens record keys through a key provider."""

    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys

    def new_record_key(self) -> RecordKey:
        """A fresh random data key for a new record, already wrapped."""
        dek = AESGCM.generate_key(bit_length=256)
        version, wrapped = self._keys.wrap(dek)
        return RecordKey(dek, version, wrapped)

    def record_key(self, key_version: int, wrapped: bytes) -> RecordKey:
        """The data key of an existing record."""
        return RecordKey(self._keys.unwrap(key_version, wrapped), key_version, wrapped)
