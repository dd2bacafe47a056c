"""Running operator commands: merchant keys, the breaker and spend caps, and the key
commands, which the card core runs (vault.services.keys, through the port `Keys`).

Each command is verified (vault_operator.commands), claimed once by its nonce, audited
before it takes effect, and audited again with what it did.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError

from vault.audit import AuditLog
from vault.domain.signed import VerifyKey
from vault.errors import Conflict
from vault.store.db import upsert
from vault.store.models import OperatorCommand, SpendControl
from vault_operator.commands import (
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
from vault_operator.registration import KeyRegistry

ACTOR = "operator"


class Keys(Protocol):
    """The key commands, run by the card core (vault.services.keys.KeyCommands); each audits
    what it did and answers it as JSON."""

    def rotate(self) -> dict[str, Any]: ...
    def rewrap(self, batch: int) -> dict[str, Any]: ...
    def retire(self, below: int) -> dict[str, Any]: ...


class OperatorService:
    def __init__(
        self,
        audit: AuditLog,
        operator_key: VerifyKey | None,
        audience: tuple[str, str],
        keys: Keys,
        registry: KeyRegistry,
    ) -> None:
        self._audit = audit
        self._operator_key = operator_key
        self._vault, self._environment = audience  # the vault's id and environment
        self._keys = keys
        self._registry = registry

    def execute(self, payload: str, signature: str) -> dict[str, Any]:
        """Run a signed command once; its result as JSON."""
        if self._operator_key is None:
            # No operator key configured: no command can be trusted, so none is run.
            self._audit.append(ACTOR, "command", None, "refused:no_operator_key")
            raise CommandRefused("this vault has no operator key")
        try:
            signed = verify_command(
                self._operator_key, payload, signature, time.time(), self._vault, self._environment
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
            return self._keys.rotate()
        if isinstance(command, Rewrap):
            return self._keys.rewrap(command.batch)
        if isinstance(command, RetireKeys):
            return self._keys.retire(command.below)
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
