"""A charge's outcome recorded: all or nothing, and only by the process that holds it.

The outcome (status, failure code, authorisation code), a sale's capture, the CVC's
destruction and the audit entries owed for them (vault.audit). Both stores run the same
statements: on SQLite one after the other in one transaction, on PostgreSQL as the parts
of one statement sent without a transaction around it (one round trip, not six).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, TextClause, text

from vault.store.db import autocommit
from vault.store.owed import Entry, owe, owed_names

_COMPLETE = (
    "UPDATE charges SET status = :status, failure_code = :code,"
    " authorization_code = :authorization, completed_at = :now, lease_until = NULL"
    " WHERE charge_id = :charge_id AND status = 'processing' AND claimed_by = :owner"
)
_SALE = (
    "INSERT INTO settlements"
    " (charge_id, action, amount, amount_refunded, status, created_at, completed_at)"
)
_ERASE_CVC = (
    "UPDATE cards SET cvc_nonce = NULL, cvc_ciphertext = NULL"
    " WHERE token = :token AND cvc_ciphertext IS NOT NULL"
)
_IN_STEPS = (
    text(_COMPLETE),
    text(f"{_SALE} VALUES (:charge_id, 'capture', :captured, 0, 'succeeded', :now, :now)"),
    text(_ERASE_CVC),
)


@functools.cache
def _in_one(entries: int) -> TextClause:
    """The PostgreSQL statement for `entries` entries (compiled once per count). Every part
    happens only if the charge was held; the `destroy_cvc` entry only if a CVC was erased."""
    rows = ", ".join(
        "(" + ", ".join(f"CAST(:{name} AS VARCHAR)" for name in owed_names(i)) + ")"
        for i in range(entries)
    )
    held = "EXISTS (SELECT FROM completed)"
    return text(
        f"WITH completed AS ({_COMPLETE} RETURNING charge_id),"  # noqa: S608 (placeholders only)
        f" sale AS ({_SALE} SELECT charge_id, 'capture', CAST(:captured AS BIGINT), 0,"
        " 'succeeded', :now, :now FROM completed WHERE CAST(:captured AS BIGINT) IS NOT NULL),"
        f" erased AS ({_ERASE_CVC} AND {held} RETURNING token)"
        " INSERT INTO audit_owed (actor, action, token, outcome)"
        f" SELECT * FROM (VALUES {rows}) AS entry WHERE {held}"
        " UNION ALL SELECT CAST(:cvc_actor AS VARCHAR), 'destroy_cvc', token, 'destroyed'"
        " FROM erased RETURNING id, action"
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    """Whether the charge was still held (nothing is written if not), whether a CVC was
    destroyed, and the audit entries owed, each with its row's id, in the log's order."""

    held: bool
    cvc_destroyed: bool
    owed: tuple[tuple[int, Entry], ...]


class Outcomes:
    """Records the outcomes of charges in one store; made once, with its engines."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # PostgreSQL's one statement goes without a transaction around it.
        self._in_one = autocommit(engine) if engine.dialect.name == "postgresql" else None

    def record(
        self,
        charge_id: str,
        owner: str,
        outcome: tuple[str, str | None, str | None],
        captured: int | None,
        entries: Sequence[Entry],
        cvc: tuple[str, str],
    ) -> Recorded:
        """Record `outcome` (status, failure code, authorisation code) of the charge `owner`
        holds, a sale's `captured` amount, and owe `entries`; erase the CVC of the card
        `cvc` names (actor, token) and owe its `destroy_cvc` entry if there was one."""
        status, code, authorization = outcome
        actor, token = cvc
        values: dict[str, object] = {
            "charge_id": charge_id,
            "owner": owner,
            "status": status,
            "code": code,
            "authorization": authorization,
            "now": int(time.time()),
            "captured": captured,
            "token": token,
            "cvc_actor": actor,
        }
        erased_entry = (actor, "destroy_cvc", token, "destroyed")
        if self._in_one is not None:
            for i, entry in enumerate(entries):
                values.update(zip(owed_names(i), entry, strict=True))
            with self._in_one.connect() as conn:
                rows = conn.execute(_in_one(len(entries)), values).all()
            if not rows:
                return Recorded(False, False, ())
            ids = {action: id_ for id_, action in rows}  # each entry's action is its own
            erased = "destroy_cvc" in ids
            owed = [*entries, *([erased_entry] if erased else [])]
            assert len(rows) == len(ids) == len(owed), "an owed entry without its row"
            return Recorded(True, erased, tuple((ids[entry[1]], entry) for entry in owed))
        complete, sale, erase = _IN_STEPS
        with self._engine.begin() as conn:
            if not conn.execute(complete, values).rowcount:
                return Recorded(False, False, ())
            if captured is not None:
                conn.execute(sale, values)
            erased = bool(conn.execute(erase, values).rowcount)
            owed = [*entries, *([erased_entry] if erased else [])]
            return Recorded(True, erased, tuple(zip(owe(conn, owed), owed, strict=True)))
