"""Who is calling: a merchant API key (public route) or an API stack's service credential."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from dataclasses import dataclass

from sqlalchemy import Engine

from vault.audit import Refusals
from vault.crypto.keyed_hash import api_key_hash
from vault.errors import AuthenticationFailed
from vault.store import repository

_MAX_KEY_LENGTH = 256


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
    """Authenticates merchant keys against their stored HMACs; refusals are audited."""

    def __init__(self, engine: Engine, secret: bytes, refusals: Refusals) -> None:
        self._engine = engine
        self._secret = secret
        self._refusals = refusals

    def authenticate(self, header: str | None) -> Merchant:
        key = merchant_key_from(header)
        if key is None or len(key) > _MAX_KEY_LENGTH:
            self._refusals.refused("merchant:unknown", "authenticate", "invalid_api_key")
            raise AuthenticationFailed("invalid_api_key", "No valid API key provided.")
        # Looked up by keyed hash: the DB index sees an HMAC, never the key.
        with self._engine.connect() as conn:
            row = repository.find_usable_merchant_key(
                conn, api_key_hash(self._secret, key), int(time.time())
            )
        if row is None:
            self._refusals.refused("merchant:unknown", "authenticate", "invalid_api_key")
            raise AuthenticationFailed("invalid_api_key", "Invalid API key provided.")
        return Merchant(*row)


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
