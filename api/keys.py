"""Merchant keys: generated, stored as keyed hashes, and resolved to a marketplace."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from api.key_cache import KeyCache
from api.store.models import ApiKey, utcnow
from servicekit.credentials import MalformedAuthorization, presented_api_key
from servicekit.errors import AuthenticationError, ServiceError

KeyKind = Literal["secret", "publishable"]


@dataclass(frozen=True)
class Caller:
    marketplace_id: str
    kind: KeyKind


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def hash_key(secret: str, key: str) -> str:
    # Keyed, so a stolen table cannot be checked against guessed keys offline. HMAC-SHA256
    # as hmac.new computes it, in OpenSSL's one call (every request hashes its key).
    return hmac.digest(secret.encode(), key.encode(), "sha256").hex()


def new_key(kind: KeyKind, mode: str) -> str:
    prefix = "sk" if kind == "secret" else "pk"
    return f"{prefix}_{mode}_{secrets.token_urlsafe(24).replace('-', 'x').replace('_', 'y')}"


def presented_key(authorization: str | None) -> str:
    """The key from `Bearer KEY` or HTTP Basic with the key as user name."""
    try:
        key = presented_api_key(authorization)
    except MalformedAuthorization:
        raise AuthenticationError("The Authorization header is malformed.") from None
    if key is None:
        raise AuthenticationError(
            "No API key provided. Send it as 'Authorization: Bearer sk_test_…'.",
            code="missing_api_key",
        )
    return key


def key_digest(secret: str, mode: str, authorization: str | None) -> str:
    """The stored hash of the presented key; 401 if none is presented or not of this mode."""
    key = presented_key(authorization)
    if not key.startswith((f"sk_{mode}_", f"pk_{mode}_")):
        raise AuthenticationError("Invalid API key provided.")
    return hash_key(secret, key)


def authenticate(session: Session, secret: str, mode: str, authorization: str | None) -> Caller:
    return resolve(session, key_digest(secret, mode, authorization))


def resolve(session: Session, digest: str, cache: KeyCache | None = None) -> Caller:
    """The caller whose key hashes to `digest`, from the database (and kept in `cache`)."""
    generation = cache.generation if cache is not None else 0
    row = session.get(ApiKey, digest)
    if row is None:
        raise AuthenticationError("Invalid API key provided.")
    known = Known(
        Caller(row.marketplace_id, "secret" if row.kind == "secret" else "publishable"),
        None if row.expires_at is None else _utc(row.expires_at),
    )
    if cache is not None:
        cache.put(digest, known, generation)
    return known.valid()


@dataclass(frozen=True)
class Known:
    caller: Caller
    expires_at: dt.datetime | None

    def valid(self) -> Caller:
        if self.expires_at is not None and self.expires_at <= utcnow():
            # A rolled key past its overlap is as unknown as a key never issued.
            raise AuthenticationError("Invalid API key provided.")
        return self.caller


def require_secret(caller: Caller) -> None:
    if caller.kind != "secret":
        raise ServiceError(
            "This request needs a secret key (sk_…); publishable keys may only create cards.",
            code="secret_key_required",
            type="permission_error",
            status_code=403,
        )
