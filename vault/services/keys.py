"""The operator's key commands, run by the card core: rotate, rewrap, retire.

They touch the master keys and every card record's wrapped key, so they stay here; the
operator channel (vault_operator) verifies a command and calls them through its port.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from vault.audit import AuditLog
from vault.crypto.keyring import KeyProvider, KeyringError
from vault.errors import Conflict, VaultError
from vault.store.models import CardRecord

ACTOR = "operator"


class KeyCommands:
    def __init__(self, sessions: sessionmaker[Session], keys: KeyProvider, audit: AuditLog) -> None:
        self._sessions, self._keys, self._audit = sessions, keys, audit

    def rotate(self) -> dict[str, Any]:
        """Add a master key version; new cards are wrapped under it at once."""
        version = self._keys.rotate()
        self._audit.append(ACTOR, "rotate_key", None, f"current:v{version}")
        return {"action": "rotate_key", "current": version}

    def rewrap(self, batch: int) -> dict[str, Any]:
        """Move up to `batch` records to the current key version; the vault keeps serving."""
        current = self._keys.current
        old = CardRecord.key_version < current
        with self._sessions() as session:
            query = select(CardRecord.token, CardRecord.key_version, CardRecord.wrapped_key)
            rows = session.execute(query.where(old).limit(batch)).all()
        # Transit is asked outside any transaction: no database lock waits on it.
        moved = [
            (token, version, *self._keys.rewrap(version, wrapped))
            for token, version, wrapped in rows
        ]

        def apply(conn: Connection) -> None:
            for token, version, new_version, wrapped in moved:
                # Only if untouched meanwhile: a concurrent rewrap's result stands.
                conn.execute(
                    update(CardRecord)
                    .where(CardRecord.token == token, CardRecord.key_version == version)
                    .values(key_version=new_version, wrapped_key=wrapped)
                )

        self._audit.submit([(ACTOR, "rewrap", None, f"{len(moved)}:to:v{current}")], apply).result()
        with self._sessions() as session:
            remaining = session.scalar(select(func.count()).select_from(CardRecord).where(old))
        return {
            "action": "rewrap",
            "current": current,
            "rewrapped": len(moved),
            "remaining": remaining,
        }

    def retire(self, below: int) -> dict[str, Any]:
        """Refuse every key version below `below`, once no record uses one."""
        with self._sessions() as session:
            query = select(func.count()).select_from(CardRecord)
            still = session.scalar(query.where(CardRecord.key_version < below))
        if still:
            # Retiring a version records still use would make them unreadable.
            self._audit.append(ACTOR, "retire_keys", None, f"refused:{still}_records_below")
            raise Conflict("keys_in_use", f"{still} records use those versions; rewrap first.")
        try:
            self._keys.retire(below)
        except KeyringError as exc:
            self._audit.append(ACTOR, "retire_keys", None, "refused:invalid_version")
            raise VaultError(400, "invalid_request_error", "parameter_invalid", str(exc)) from None
        self._audit.append(ACTOR, "retire_keys", None, f"below:v{below}")
        return {"action": "retire_keys", "below": below}
