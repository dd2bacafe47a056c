"""Master keys: the KeyProvider protocol and the local keyring file used by default.

The master key never encrypts card data itself; it only wraps (encrypts) the per-record
data keys. Production swaps LocalKeyring for a provider whose keys never leave an HSM or
HashiCorp Vault Transit; the envelope code does not change.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, the size GCM is specified for


class KeyringError(Exception):
    """The keyring is unusable; the vault refuses to start or to decrypt (fail closed)."""


class KeyProvider(Protocol):
    def wrap(self, dek: bytes) -> tuple[int, bytes]:
        """Encrypt a data key under the current master key: (key version, wrapped key)."""
        ...

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        """Decrypt a data key wrapped under master key `version`."""
        ...


def _wrap_aad(version: int) -> bytes:
    # Binds a wrapped key to its purpose and master-key version: no reuse as other ciphertext.
    return b"strongroom-vault/dek-wrap/v%d" % version


class LocalKeyring:
    """Master keys in a JSON file of mode 0600: `{"current": 1, "versions": {"1": b64}}`."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        if not path.exists():
            if not create:
                # A new key now would strand every stored card: restore the file instead.
                raise KeyringError(f"{path} is missing; it holds the keys of stored cards")
            # FileExistsError: another process created it meanwhile; load theirs.
            with contextlib.suppress(FileExistsError):
                _create(path)
        self._current, self._keys = _load(path)

    def wrap(self, dek: bytes) -> tuple[int, bytes]:
        # A fresh random nonce per wrap: a repeated (key, nonce) pair breaks GCM entirely.
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[self._current]).encrypt(nonce, dek, _wrap_aad(self._current))
        return self._current, nonce + sealed

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        key = self._keys.get(version)
        if key is None:
            raise KeyringError(f"master key version {version} is not in the keyring")
        try:
            return AESGCM(key).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(version)
            )
        except InvalidTag:
            raise KeyringError("a wrapped data key failed authentication") from None


def _create(path: Path) -> None:
    """A first master key, written where only this user can read it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {"current": 1, "versions": {"1": base64.b64encode(os.urandom(KEY_BYTES)).decode()}}
    # O_EXCL: never overwrite a keyring another process created meanwhile; 0o600 from birth.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(body, f)
        f.flush()
        os.fsync(f.fileno())
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the new file's name is durable too, not only its bytes
    finally:
        os.close(directory)


def _load(path: Path) -> tuple[int, dict[int, bytes]]:
    # O_NOFOLLOW: a symlink planted in place of the keyring is refused, not followed.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, encoding="utf-8") as f:
        info = os.fstat(f.fileno())
        # A master key others could read is a leaked key: refuse rather than use it.
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(f"{path} is accessible to group or others; chmod 600 it")
        if info.st_uid != os.getuid():
            raise KeyringError(f"{path} is not owned by the user running the vault")
        try:
            body = json.load(f)
            current = int(body["current"])
            keys = {int(v): base64.b64decode(k, validate=True) for v, k in body["versions"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyringError(f"{path} is not a valid keyring") from None
    if current not in keys or any(len(k) != KEY_BYTES for k in keys.values()):
        raise KeyringError(f"{path} lacks the current key or holds a key that is not 32 bytes")
    return current, keys
