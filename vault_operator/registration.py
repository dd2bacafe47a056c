"""Registering merchant keys by operator command: the one way a marketplace's keys reach
the vault (`strongroom marketplace create`, the dev marketplace of `strongroom up`).

Keys are stored only as their keyed hash (vault.crypto.keyed_hash, which the app hands the
registry as `hash_key`: this package imports none of the crypto), a key never moves to
another marketplace, an expiry is never extended. The serving vault does it with its own
sessions and audit log, so no client needs the vault's database or secrets, and nothing
writes beside it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from vault.audit import AuditLog, Work
from vault.errors import Conflict, NotFound, VaultError
from vault.store.models import MerchantKey
from vault.store.owed import Entry

ACTOR = "operator"
_KEY = re.compile(r"(pk|sk)_(test|live)_[A-Za-z0-9_-]{16,200}")


def key_kind(api_key: str) -> tuple[str, bool]:
    """(publishable | secret, livemode) from a key's prefix; ValueError if it has none."""
    match = _KEY.fullmatch(api_key)
    if match is None:
        # The key itself stays out of the message: it is a credential.
        raise ValueError("an API key must be pk_/sk_ test_/live_ plus at least 16 characters")
    return ("publishable" if match[1] == "pk" else "secret"), match[2] == "live"


class KeyRegistry:
    """Registers and expires merchant keys, each change audited before it is written."""

    def __init__(
        self,
        audit: AuditLog,
        hash_key: Callable[[str], bytes],
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self._audit, self._hash = audit, hash_key
        # Called once an expiry is committed: the authenticator forgets the keys it kept.
        self._changed = changed

    def _audited(self, action: str, entries: Sequence[Entry], work: Work) -> None:
        """`work` once `entries` are on disk. Refused work keeps its entries (the log
        over-reports an attempt, never hides one) and gets one more saying it was refused,
        so no registration or expiry that never happened reads as done."""
        try:
            self._audit.submit(entries, work).result()
        except VaultError as exc:
            self._audit.append(ACTOR, action, None, f"refused:{exc.code}")
            raise

    def register(self, marketplace: str, keys: list[str]) -> dict[str, Any]:
        """Allow `keys` to tokenise for `marketplace`; idempotent for keys already its own."""
        rows = [(self._hash(key), *key_kind(key)) for key in keys]

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
        self._audited("register_keys", entries, work)
        return {"action": "register_keys", "marketplace": marketplace, "registered": len(keys)}

    def expire(self, key: str, expires_at: int) -> dict[str, Any]:
        """Refuse `key` from `expires_at` on; an earlier expiry stands."""
        key_hash = self._hash(key)
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

        self._audited("expire_key", [(ACTOR, "expire_key", None, f"{kind}:at:{expires_at}")], work)
        self._changed()
        return {
            "action": "expire_key",
            "marketplace": found["marketplace"],
            "expires_at": expires_at,
        }
