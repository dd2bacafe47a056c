"""Who is calling: a merchant API key (public route) or an API stack's service credential."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine

from vault.audit import Refusals
from vault.crypto.keyed_hash import api_key_hash
from vault.errors import AuthenticationFailed
from vault.store import repository
from vault.store.db import autocommit

_MAX_KEY_LENGTH = 256
CACHE_SECONDS = 1.0  # how long another vault process's expiry of a key may go unseen here
CACHE_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class Merchant:
    """The owner of a registered API key: its marketplace, mode and key kind."""

    marketplace: str
    livemode: bool
    kind: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller (never the key itself)."""
        return f"merchant:{self.marketplace}:{self.kind}:{'live' if self.livemode else 'test'}"


def _split(header: str | None) -> tuple[str, str]:
    scheme, _, value = (header or "").strip().partition(" ")
    return scheme.lower(), value.strip()


def merchant_key_from(header: str | None) -> str | None:
    """The API key in `Bearer <key>` or in HTTP Basic as the user name, else None."""
    scheme, value = _split(header)
    if scheme == "bearer":
        return value or None
    if scheme == "basic":
        try:
            user = base64.b64decode(value, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


class MerchantKeys:
    """Authenticates merchant keys against their stored HMACs; refusals are audited.

    A registered key's row is kept in memory for CACHE_SECONDS (its expiry still checked on
    every request): an expiry this process records forgets it at once (`forget`), one
    recorded by another vault process takes effect within CACHE_SECONDS. Unknown keys are
    never kept: each one is looked up, and refused, again.
    """

    def __init__(self, engine: Engine, secret: bytes, refusals: Refusals) -> None:
        self._reads = autocommit(engine)  # one SELECT: no transaction around it
        self._secret = secret
        self._refusals = refusals
        # key hash -> (its merchant, its expiry, kept until (monotonic))
        self._known: dict[bytes, tuple[Merchant, int | None, float]] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def authenticate(self, header: str | None) -> Merchant:
        key = merchant_key_from(header)
        if key is None or len(key) > _MAX_KEY_LENGTH:
            self._refusals.refused("merchant:unknown", "authenticate", "invalid_api_key")
            raise AuthenticationFailed("invalid_api_key", "No valid API key provided.")
        # Looked up by keyed hash: the DB index sees an HMAC, never the key.
        key_hash = api_key_hash(self._secret, key)
        now = time.time()
        found = self._known.get(key_hash)
        if found is None or found[2] < time.monotonic():
            found = self._look_up(key_hash)
        if found is None or (found[1] is not None and found[1] <= now):
            self._refusals.refused("merchant:unknown", "authenticate", "invalid_api_key")
            raise AuthenticationFailed("invalid_api_key", "Invalid API key provided.")
        return found[0]

    def _look_up(self, key_hash: bytes) -> tuple[Merchant, int | None, float] | None:
        with self._lock:
            generation = self._generation
        with self._reads.connect() as conn:
            row = repository.find_merchant_key_row(conn, key_hash)
        if row is None:
            return None
        marketplace, livemode, kind, expires_at = row
        found = (
            Merchant(marketplace, livemode, kind),
            expires_at,
            time.monotonic() + CACHE_SECONDS,
        )
        with self._lock:
            if generation == self._generation:  # not read before an expiry recorded since
                if len(self._known) >= CACHE_KEYS:
                    self._known.clear()  # bounded: many keys cost a look-up each, never memory
                self._known[key_hash] = found
        return found

    def forget(self) -> None:
        """Drop every kept key: this process changed a key's expiry."""
        with self._lock:
            self._generation += 1
            self._known = {}


class ServiceCredentials:
    """Maps the calling API stack's credential to its mode; the body never decides the mode."""

    def __init__(self, test_credential: str, live_credential: str, refusals: Refusals) -> None:
        self._test = test_credential.encode()
        self._live = live_credential.encode()
        self._refusals = refusals

    def livemode(self, header: str | None) -> bool:
        scheme, value = _split(header)
        presented = value.encode() if scheme == "bearer" else b""
        # Both comparisons always run, each in constant time: timing reveals neither.
        is_test = hmac.compare_digest(presented, self._test)
        is_live = hmac.compare_digest(presented, self._live)
        if is_test == is_live:  # neither (the two credentials differ, so never both)
            self._refusals.refused("service:unknown", "authenticate", "invalid_credential")
            raise AuthenticationFailed("invalid_credential", "Unknown service credential.")
        return is_live
