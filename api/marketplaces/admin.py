"""Operator actions on a stack's database, used by the `strongroom` command."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from api.config import Settings
from api.domain.states import KeyKind
from api.key_cache import CHANNEL
from api.keys import hash_key
from api.store.db import make_engine, migrate, session_factory
from api.store.models import ApiKey, Marketplace, utcnow


def _kind(settings: Settings, key: str) -> KeyKind:
    if not key.startswith((f"sk_{settings.mode}_", f"pk_{settings.mode}_")):
        raise ValueError(f"a {settings.mode} stack takes only {settings.mode} keys")
    return "secret" if key.startswith("sk_") else "publishable"


def register_marketplace(
    settings: Settings, marketplace_id: str, name: str, keys: list[str]
) -> None:
    """Store a marketplace and this stack's keys for it (as keyed hashes only)."""
    engine = make_engine(settings.resolved_database_url())
    try:
        migrate(engine)
        secret = settings.key_hash_secret.get_secret_value()
        with session_factory(engine).begin() as session:
            session.add(Marketplace(id=marketplace_id, name=name))
            session.flush()
            for key in keys:
                session.add(
                    ApiKey(
                        key_hash=hash_key(secret, key),
                        marketplace_id=marketplace_id,
                        kind=_kind(settings, key),
                    )
                )
    finally:
        engine.dispose()


def roll_key(settings: Settings, old_key: str, new_key: str, overlap: dt.timedelta) -> str:
    """Register `new_key` beside `old_key`, which keeps working for `overlap`, then stops.

    Returns the marketplace id. The new key must be of the same kind and mode.
    """
    kind = _kind(settings, old_key)
    if _kind(settings, new_key) != kind or new_key[:8] != old_key[:8]:
        raise ValueError("the new key must have the old key's kind and mode")
    engine = make_engine(settings.resolved_database_url())
    try:
        migrate(engine)
        secret = settings.key_hash_secret.get_secret_value()
        with session_factory(engine).begin() as session:
            old = session.get(ApiKey, hash_key(secret, old_key))
            now = utcnow()
            if old is None or (old.expires_at is not None and _utc(old.expires_at) <= now):
                raise ValueError("the key to roll is unknown or has expired")
            expires = now + overlap
            # Never extend a key's life: an earlier expiry stands.
            if old.expires_at is None or expires < _utc(old.expires_at):
                old.expires_at = expires
            session.add(
                ApiKey(
                    key_hash=hash_key(secret, new_key), marketplace_id=old.marketplace_id, kind=kind
                )
            )
            if engine.dialect.name == "postgresql":
                # Delivered at commit: every running stack drops the keys it has cached.
                session.execute(text(f"NOTIFY {CHANNEL}"))
            return old.marketplace_id
    finally:
        engine.dispose()


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
