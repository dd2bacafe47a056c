"""The vault's identity: which vault, which environment, who holds its master key.

Made at the first start and recorded in the database (and the audit log). At every start
the configured environment and key provider must match it: a command signed for another
vault or environment is refused (vault_operator.commands), and custody is never downgraded
— a vault whose keys Transit held does not start on a local keyring, and a local keyring
put in place of the recorded one is refused, at start and when reloaded.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session, sessionmaker

from vault.audit import AuditLog
from vault.crypto.keyring import KeyProvider, KeyringError, LocalKeyring
from vault.domain.states import Custody
from vault.store.models import VaultIdentity


@dataclass(frozen=True, slots=True)
class Identity:
    vault_id: str
    environment: str
    custody: Custody
    keyring: str | None


def recorded(sessions: sessionmaker[Session]) -> Identity | None:
    with sessions() as session:
        row = session.scalars(select(VaultIdentity)).first()
    if row is None:
        return None
    return Identity(row.vault_id, row.environment, row.custody, row.keyring)


def establish(
    sessions: sessionmaker[Session], audit: AuditLog, keys: KeyProvider, environment: str
) -> Identity:
    """This vault's identity: recorded now at the first start, else checked against the record."""
    keyring = keys.identity if isinstance(keys, LocalKeyring) else None
    found = recorded(sessions)
    if found is None:
        # Letters only: an id never looks like card data to the audit writer or a scan.
        vault_id = "vlt_" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(20))
        found = Identity(vault_id, environment, keys.custody, keyring)
        row = {**asdict(found), "created_at": int(time.time())}

        def record(conn: Connection) -> None:
            conn.execute(insert(VaultIdentity), row)

        outcome = f"{found.vault_id}:{environment}:custody:{keys.custody}"
        audit.submit([("vault", "init", None, outcome)], record).result()
    else:
        _check(found, environment, keys.custody, keyring)
    if isinstance(keys, LocalKeyring) and found.keyring is not None:
        keys.pin(found.keyring)  # a keyring swapped in while running is refused too
    return found


def _check(found: Identity, environment: str, custody: Custody, keyring: str | None) -> None:
    if found.environment != environment:
        raise KeyringError(
            f"this vault belongs to environment {found.environment!r}, not {environment!r}"
        )
    if found.custody != custody:
        # Custody is never changed by configuration alone (a downgrade to a local keyring
        # would hand the keys of new cards to whoever wrote it).
        raise KeyringError(
            f"this vault's master key is held by {found.custody}; {custody} is refused"
        )
    if found.keyring is not None and keyring != found.keyring:
        raise KeyringError("the keyring file is not this vault's keyring; restore it")
