"""Running operator commands: key rotation, rewrap, retirement, breaker and caps.

Each command is verified (vault.domain.commands), claimed once by its nonce, audited
before it takes effect, and audited again with what it did.
"""

from __future__ import annotations

import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vault.audit import AuditLog
from vault.crypto.keyring import KeyProvider, KeyringError
from vault.domain.commands import (
    Breaker,
    CommandRefused,
    ExpireKey,
    RegisterKeys,
    RetireKeys,
    Rewrap,
    RotateKey,
    SetLimit,
    verify_command,
)
from vault.errors import Conflict, VaultError
from vault.identity import Identity
from vault.services.registration import KeyRegistry
from vault.store.db import upsert
from vault.store.models import CardRecord, OperatorCommand, SpendControl

ACTOR = "operator"


class OperatorService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        keys: KeyProvider,
        audit: AuditLog,
        operator_key: Ed25519PublicKey | None,
        registry: KeyRegistry,
        identity: Identity,
    ) -> None:
        self._sessions = sessions
        self._keys = keys
        self._audit = audit
        self._operator_key = operator_key
        self._registry = registry
        self._identity = identity

    def execute(self, payload: str, signature: str) -> dict[str, Any]:
        """Run a signed command once; its result as JSON."""
        if self._operator_key is None:
            # No operator key configured: no command can be trusted, so none is run.
            self._audit.append(ACTOR, "command", None, "refused:no_operator_key")
            raise CommandRefused("this vault has no operator key")
        try:
            this = self._identity
            signed = verify_command(
                self._operator_key, payload, signature, time.time(), this.vault_id, this.environment
            )
        except CommandRefused:
            self._audit.append(ACTOR, "command", None, "refused:invalid")
            raise
        command, nonce = signed.command, signed.nonce

        def claim(conn: Connection) -> None:
            row = {"nonce": nonce, "action": command.action, "created_at": int(time.time())}
            conn.execute(insert(OperatorCommand), row)

        try:
            self._audit.submit([(ACTOR, command.action, None, "requested")], claim).result()
        except IntegrityError:
            self._audit.append(ACTOR, command.action, None, "refused:replayed")
            raise Conflict("command_replayed", "This command was already run.") from None
        if isinstance(command, RotateKey):
            version = self._keys.rotate()
            self._audit.append(ACTOR, "rotate_key", None, f"current:v{version}")
            return {"action": "rotate_key", "current": version}
        if isinstance(command, Rewrap):
            return self._rewrap(command.batch)
        if isinstance(command, RetireKeys):
            return self._retire(command.below)
        if isinstance(command, RegisterKeys):
            return self._registry.register(command.marketplace, command.keys)
        if isinstance(command, ExpireKey):
            return self._registry.expire(command.key, command.expires_at)
        if isinstance(command, Breaker):
            values: dict[str, Any] = {"scope": command.scope, "breaker_open": command.open}
            outcome = f"{'open' if command.open else 'closed'}:{command.scope}"
        else:
            assert isinstance(command, SetLimit)
            # A new cap also clears a trip of its scope: the operator has looked at it.
            values = {"scope": command.scope, f"{command.window}_cap": command.amount}
            values["tripped"] = None
            outcome = f"{command.window}:{command.amount}:{command.scope}"

        def apply(conn: Connection) -> None:
            upsert(conn, SpendControl.__table__, values, key="scope")

        self._audit.submit([(ACTOR, command.action, None, outcome)], apply).result()
        return {"action": command.action, **values}

    def _rewrap(self, batch: int) -> dict[str, Any]:
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

    def _retire(self, below: int) -> dict[str, Any]:
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
