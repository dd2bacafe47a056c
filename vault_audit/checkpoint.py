"""Signed audit checkpoints: the chain's head, signed by a key of the vault's own.

A checkpoint says "entry `seq` of the log whose first entry hashed to `chain` has hash
`hash`, and entries `first`..`seq` are the archived segment `segment` with this SHA-256",
and links to the checkpoint before it by the SHA-256 of its file. The vault signs it with an
Ed25519 key that signs nothing else, so that whoever holds the public key can prove the
archive whole with no access to the vault, its database or its secrets.

A checkpoint file is `{"payload": …, "signature": …}`: base64url of the checkpoint's JSON
and of its signature, the format of every signed object of the vault (vault.domain.signed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vault.audit_chain import canonical
from vault.domain.signed import open_signed

Hex64 = Field(pattern=r"^[0-9a-f]{64}$")


class CheckpointInvalid(Exception):
    """A checkpoint file that is malformed, or not signed by the key given."""


class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    version: int = Field(ge=1, le=1)
    chain: str = Hex64  # the hash of the log's first entry: which log this is
    seq: int = Field(ge=1)
    hash: str = Hex64
    time: str = Field(max_length=40)  # ISO 8601, UTC, when it was signed
    first: int = Field(ge=1)  # the segment this checkpoint closes holds entries first..seq
    segment: str = Field(pattern=r"^[0-9]{12}-[0-9]{12}\.log$")
    segment_sha256: str = Hex64
    previous: str = Hex64  # SHA-256 of the previous checkpoint's file; 64 zeros for the first
    key: str = Field(pattern=r"^[0-9a-f]{16}$")  # which checkpoint key signed it

    @property
    def file_name(self) -> str:
        return checkpoint_name(self.seq)


def checkpoint_name(seq: int) -> str:
    return f"{seq:012d}.json"


def segment_name(first: int, last: int) -> str:
    return f"{first:012d}-{last:012d}.log"


def key_id(public: Ed25519PublicKey) -> str:
    """A short name of a checkpoint key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> bytes:
    """The bytes of the checkpoint's file."""
    payload = canonical(checkpoint.model_dump()).encode()
    signature = key.sign(payload)
    signed = {"payload": _b64url(payload), "signature": _b64url(signature)}
    return (canonical(signed) + "\n").encode()


def open_checkpoint(key: Ed25519PublicKey, data: bytes) -> Checkpoint:
    """The checkpoint in a file's bytes, once its signature holds under `key`."""
    try:
        signed = json.loads(data)
        payload, signature = signed["payload"], signed["signature"]
        if set(signed) != {"payload", "signature"} or not isinstance(payload, str):
            raise ValueError
        if not isinstance(signature, str):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise CheckpointInvalid("it is not a signed checkpoint") from None
    body = open_signed(key, payload, signature, CheckpointInvalid)
    try:
        return Checkpoint.model_validate(body)
    except ValidationError:
        raise CheckpointInvalid("its content is malformed") from None


def load_public_key(text: str) -> Ed25519PublicKey:
    """A checkpoint public key from base64 of its 32 raw bytes, or PEM; ValueError if neither."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_public_key(text.encode())
        except ValueError:
            raise ValueError("not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not base64 of an Ed25519 public key, nor PEM") from None
    if len(raw) != 32:
        raise ValueError("not an Ed25519 public key: base64 of 32 bytes expected")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(public: Ed25519PublicKey) -> str:
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode() + "\n"


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The vault's checkpoint key, made at first start (0600), its public half beside it.

    `path.pub` is what the security team is given; it is rewritten from the private key at
    every start, so it always matches.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        raw = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(raw + "\n")
            f.flush()
            os.fsync(f.fileno())
    # Fail closed: a signing key others can read proves nothing.
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} is readable by others; chmod 600 it")
    try:
        key = Ed25519PrivateKey.from_private_bytes(_raw_key(path.read_text().strip()))
    except ValueError:
        raise ValueError(f"{path} is not base64 of a raw Ed25519 private key") from None
    public = path.with_name(path.name + ".pub")
    text = public_key_text(key.public_key())
    if not public.exists() or public.read_text() != text:
        tmp = public.with_name(public.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(public)
    return key


def _raw_key(text: str) -> bytes:
    """32 bytes from strict standard base64 (the repository's format for raw keys)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
    if len(raw) != 32:
        raise ValueError("not 32 bytes")
    return raw


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
