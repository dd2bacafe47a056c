"""Operator actions on a stack's database, used by the `strongroom` command."""

from __future__ import annotations

from api.config import Settings
from api.keys import hash_key
from api.store.db import make_engine, migrate, session_factory
from api.store.models import ApiKey, Marketplace


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
                if not key.startswith((f"sk_{settings.mode}_", f"pk_{settings.mode}_")):
                    raise ValueError(f"a {settings.mode} stack takes only {settings.mode} keys")
                kind = "secret" if key.startswith("sk_") else "publishable"
                session.add(
                    ApiKey(key_hash=hash_key(secret, key), marketplace_id=marketplace_id, kind=kind)
                )
    finally:
        engine.dispose()
