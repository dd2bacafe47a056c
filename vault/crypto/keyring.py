"""Master keys: the KeyProvider protocol and the local keyring file used by default.

The master key never encrypts card data itself; it only wraps (encrypts) the per-record
data keys. Master keys have versions: rotation adds one and new data keys are wrapped
under it; a rewrap moves a wrapped key to the newest; versions below `min_version` are
retired and refused. Production swaps LocalKeyring for Transit (vault.crypto.transit),
whose server keeps the master key under its own seal (Shamir shares, k of N custodians):
split knowledge and dual control are OpenBao's, not hand-made here (docs/vault.md).

The keyring file is `{"current", "min_version", "versions"}`: the development default.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.domain.states import Custody

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, the size GCM is specified for
REFRESH_SECONDS = 0.1


class KeyringError(Exception):
    """The keys are unusable; the vault refuses to start or to decrypt (fail closed)."""


class KeyProvider(Protocol):
    @property
    def custody(self) -> Custody:
        """Who holds the master key: "local" (a file here) or "transit" (OpenBao)."""
        ...

    @property
    def current(self) -> int:
        """The version new data keys are wrapped under."""
        ...

    def wrap(self, dek: bytes) -> tuple[int, bytes]:
        """Encrypt a data key under the current master key: (key version, wrapped key)."""
        ...

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        """Decrypt a data key wrapped under master key `version`, unless it is retired."""
        ...

    def rewrap(self, version: int, wrapped: bytes) -> tuple[int, bytes]:
        """The same data key wrapped under the current version."""
        ...

    def rotate(self) -> int:
        """Add a master key version and make it current; returns it."""
        ...

    def retire(self, below: int) -> None:
        """Refuse every version below `below` from now on."""
        ...


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _wrap_aad(version: int) -> bytes:
    # Binds a wrapped key to its purpose and master-key version: no reuse as other ciphertext.
    return b"strongroom-vault/dek-wrap/v%d" % version


class LocalKeyring:
    """Master keys in a file of mode 0600; reread when another process changed it."""

    custody: Custody = "local"

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self._path = path
        self._lock = threading.RLock()
        self._keys: dict[int, bytes] = {}
        self._aeads: dict[int, AESGCM] = {}  # one cipher per master key, made once per load
        self._current = self._min = 0
        self._checked = 0.0
        self._expected: str | None = None
        if not path.exists():
            if not create:
                # A new key now would strand every stored card: restore the file instead.
                raise KeyringError(f"{path} is missing; it holds the keys of stored cards")
            body = {"current": 1, "min_version": 1, "versions": {"1": _new_key()}}
            # FileExistsError: another process created it meanwhile; load theirs.
            with contextlib.suppress(FileExistsError):
                _install(path, _canonical(body), replace=False)
        self._load()

    @property
    def identity(self) -> str:
        """Names this keyring without revealing it: an HMAC under its first master key."""
        with self._lock:
            return keyring_identity(self._keys[min(self._keys)])

    def pin(self, identity: str) -> None:
        """From now on, refuse any keyring file but the one `identity` names."""
        with self._lock:
            self._expected = identity
            self._load()

    @property
    def current(self) -> int:
        return self._ciphers()[0]

    def _refresh(self) -> None:
        # Another process's change (a rotation) is seen within REFRESH_SECONDS; a
        # stat per request would cost more than the keys themselves.
        now = time.monotonic()
        if now - self._checked >= REFRESH_SECONDS:
            self._checked = now
            if _stamp(self._path) != self._stamp:
                self._load()

    def _load(self) -> None:
        body, self._stamp = _read(self._path)
        try:
            keys = {int(v): base64.b64decode(k, validate=True) for v, k in body["versions"].items()}
            current, minimum = int(body["current"]), int(body.get("min_version", 1))
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise KeyringError(f"{self._path} is not a valid keyring") from None
        if current not in keys or any(len(k) != KEY_BYTES for k in keys.values()):
            raise KeyringError(f"{self._path} lacks the current key or has a key not 32 bytes")
        if self._expected and keyring_identity(keys[min(keys)]) != self._expected:
            # Another keyring put in this one's place (whoever can write the data dir): its
            # keys would wrap new cards for whoever made it. Refused, never loaded.
            self._keys, self._aeads = {}, {}
            raise KeyringError(f"{self._path} is not this vault's keyring; restore it")
        self._aeads = {version: AESGCM(key) for version, key in keys.items()}
        self._keys, self._current, self._min = keys, current, minimum

    def _ciphers(self) -> tuple[int, dict[int, bytes], dict[int, AESGCM]]:
        with self._lock:
            self._refresh()
            if not self._keys:
                raise KeyringError("the keyring is not this vault's")
            return self._current, self._keys, self._aeads

    def wrap(self, dek: bytes) -> tuple[int, bytes]:
        current, _, aeads = self._ciphers()
        # A fresh random nonce per wrap: a repeated (key, nonce) pair breaks GCM entirely.
        nonce = os.urandom(NONCE_BYTES)
        return current, nonce + aeads[current].encrypt(nonce, dek, _wrap_aad(current))

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        _, _, aeads = self._ciphers()
        if version < self._min:
            raise KeyringError(f"master key version {version} is retired")
        if version not in aeads:
            raise KeyringError(f"master key version {version} is not in the keyring")
        try:
            return aeads[version].decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(version)
            )
        except InvalidTag:
            raise KeyringError("a wrapped data key failed authentication") from None

    def rewrap(self, version: int, wrapped: bytes) -> tuple[int, bytes]:
        return self.wrap(self.unwrap(version, wrapped))

    def rotate(self) -> int:
        with self._changing() as body:
            body["current"] = max(int(v) for v in body["versions"]) + 1
            body["versions"][str(body["current"])] = _new_key()
        return self._current

    def retire(self, below: int) -> None:
        with self._changing() as body:
            # Lowering it again restores a version: retired keys are refused, not destroyed.
            if not 1 <= below <= body["current"]:
                raise KeyringError("only versions up to the current one can be retired")
            body["min_version"] = below

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        """The current body to edit, written back atomically under a lock of all processes."""
        lock = os.open(
            self._path.with_name(self._path.name + ".lock"), os.O_CREAT | os.O_RDWR, 0o600
        )
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # no two processes add the same version
            with self._lock:
                self._load()
                current, keys, _ = self._ciphers()
                body = {
                    "current": current,
                    "min_version": self._min,
                    "versions": {str(v): base64.b64encode(k).decode() for v, k in keys.items()},
                }
                yield body
                # On disk before any data key is wrapped under a new version.
                _install(self._path, _canonical(body), replace=True)
                self._load()
        finally:
            os.close(lock)


def keyring_identity(first_key: bytes) -> str:
    """What the vault records of its keyring: it names the keys and reveals none of them.

    Letters only (as the vault's id): no digits to be mistaken for card data in a scan.
    """
    mac = hmac.new(first_key, b"strongroom keyring identity", hashlib.sha256).digest()
    return base64.b32encode(mac).decode().translate(_NO_DIGITS)[:32].lower()


_NO_DIGITS = str.maketrans("234567", "abcdef")


def _new_key() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _stamp(path: Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_ino, info.st_mtime_ns, info.st_size


def _install(path: Path, data: bytes, *, replace: bool) -> None:
    """Write `data` at `path` whole or not at all, private from birth, durably."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # never overwrites: FileExistsError if another made it first
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the file's name is durable too, not only its bytes
    finally:
        os.close(directory)


def _read(path: Path) -> tuple[dict[str, Any], tuple[int, int, int]]:
    # O_NOFOLLOW: a symlink planted in place of the keyring is refused, not followed.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        # A master key others could read is a leaked key: refuse rather than use it.
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(f"{path} is accessible to group or others; chmod 600 it")
        if info.st_uid != os.getuid():
            raise KeyringError(f"{path} is not owned by the user running the vault")
        try:
            body = json.loads(f.read())
        except ValueError:
            raise KeyringError(f"{path} is not a valid keyring") from None
    if not isinstance(body, dict):
        raise KeyringError(f"{path} is not a valid keyring")
    return body, (info.st_ino, info.st_mtime_ns, info.st_size)
