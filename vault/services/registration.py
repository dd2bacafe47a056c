"""Registering merchant keys by operator command: how the CLI adds a marketplace from afar.

The same rules as vault.admin (keys stored only as their keyed hash, a key never moves to
another marketplace, an expiry never extended), run by the serving vault with its own
sessions and audit log, so the command needs no access to the vault's database or secrets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from vault.admin import key_kind
from vault.audit import AuditLog
from vault.crypto.keyed_hash import api_key_hash
from vault.errors import Conflict, NotFound
from vault.store.models import MerchantKey

ACTOR = "operator"


class KeyRegistry:
    def __init__(
        self, audit: AuditLog, key_hash_secret: bytes, changed: Callable[[], None] = lambda: None
    ) -> None:
        self._audit, self._secret = audit, key_hash_secret
        # Called once an expiry is committed: the authenticator forgets the keys it kept.
        self._changed = changed

    def register(self, marketplace: str, keys: list[str]) -> dict[str, Any]:
        """Allow `keys` to tokenise for `marketplace`; idempotent for keys already its own."""
        rows = [(api_key_hash(self._secret, key), *key_kind(key)) for key in keys]

        def work(conn: Connection) -> None:
            for key_hash, kind, livemode in rows:
                query = select(MerchantKey.marketplace_id).where(MerchantKey.key_hash == key_hash)
                owner = conn.execute(query).scalar_one_or_none()
                if owner is not None and owner != marketplace:
                    raise Conflict("key_taken", "An API key is registered to another marketplace.")
                if owner is None:
                    values = {
                        "key_hash": key_hash,
                        "marketplace_id": marketplace,
                        "livemode": livemode,
                        "kind": kind,
                        "created_at": int(time.time()),
                    }
                    conn.execute(insert(MerchantKey).values(values))

        entries = [
            (ACTOR, "register_key", None, f"{marketplace}:{kind}:{'live' if live else 'test'}")
            for _, kind, live in rows
        ]
        # Audited before the keys are written, as every change: an unaudited key never works.
        self._audit.submit(entries, work).result()
        return {"action": "register_keys", "marketplace": marketplace, "registered": len(keys)}

    def expire(self, key: str, expires_at: int) -> dict[str, Any]:
        """Refuse `key` from `expires_at` on; an earlier expiry stands."""
        key_hash = api_key_hash(self._secret, key)
        kind, _ = key_kind(key)
        found: dict[str, str] = {}

        def work(conn: Connection) -> None:
            query = select(MerchantKey.marketplace_id, MerchantKey.expires_at)
            row = conn.execute(query.where(MerchantKey.key_hash == key_hash)).one_or_none()
            if row is None:
                raise NotFound("No such API key is registered.", "key")
            found["marketplace"] = row.marketplace_id
            if row.expires_at is None or expires_at < row.expires_at:
                conn.execute(
                    update(MerchantKey)
                    .where(MerchantKey.key_hash == key_hash)
                    .values(expires_at=expires_at)
                )

        self._audit.submit([(ACTOR, "expire_key", None, f"{kind}:at:{expires_at}")], work).result()
        self._changed()
        return {
            "action": "expire_key",
            "marketplace": found["marketplace"],
            "expires_at": expires_at,
        }
