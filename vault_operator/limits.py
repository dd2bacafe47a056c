"""Spend limits and the circuit breaker on live charges (the signer pattern).

Even a compromised API stack cannot drain cards through the vault: each live charge is
counted against caps on its marketplace, then on all marketplaces ("*"), per minute and
in total, before it is sent. A charge larger than a cap itself is refused alone; one that
would take its scope past a cap is refused and trips the cap, which then refuses every
live charge of its scope until an operator changes the cap by a signed command. An
operator can also open a scope's breaker: its live charges stop at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update

from vault.domain.states import Tripped
from vault.errors import VaultError
from vault.store.models import SpendBucket, SpendControl

GLOBAL = "*"


@dataclass(frozen=True, slots=True)
class Caps:
    """The configured caps, in minor units, for scopes without an operator's own."""

    marketplace_minute: int
    marketplace_total: int
    global_minute: int
    global_total: int


def breaker_open() -> VaultError:
    return VaultError(403, "permission_error", "breaker_open", "Live charges are stopped.")


def limit_reached() -> VaultError:
    return VaultError(
        403, "permission_error", "spend_limit_reached", "A live charge volume cap was reached."
    )


def over_cap() -> VaultError:
    return VaultError(
        403,
        "permission_error",
        "spend_limit_reached",
        "This charge is larger than a live charge volume cap allows.",
        "amount",
    )


# Built once, as every statement of the charge path: a reused statement is compiled once.
_controls = cast(Table, SpendControl.__table__)
_ring = cast(Table, SpendBucket.__table__)
_LOCK = (
    update(_controls).where(_controls.c.scope == GLOBAL).values(total_spent=_controls.c.total_spent)
)
# A scope's live volume in the last minute: the sum of at most 60 slots of its ring.
_minute = (
    select(func.coalesce(func.sum(_ring.c.amount), 0))
    .where(_ring.c.scope == _controls.c.scope, _ring.c.second > bindparam("since"))
    .scalar_subquery()
)
_SCOPES = select(
    _controls.c.scope,
    _controls.c.breaker_open,
    _controls.c.tripped,
    _controls.c.minute_cap,
    _controls.c.total_cap,
    _controls.c.total_spent,
    _minute.label("minute_spent"),
).where(_controls.c.scope.in_([GLOBAL, bindparam("marketplace")]))
_NEW_SCOPE = insert(_controls).values(
    scope=bindparam("new_scope"), breaker_open=False, total_spent=0
)
_TRIP = (
    update(_controls).where(_controls.c.scope == bindparam("s")).values(tripped=bindparam("cap"))
)
# This second's slot of both scopes' rings, added to or begun anew; SQLite's SQL and PostgreSQL's.
_RING = (
    "INSERT INTO spend_buckets (scope, slot, second, amount)"
    " VALUES ('*', :slot, :now, :amount), (:marketplace, :slot, :now, :amount)"
    " ON CONFLICT (scope, slot) DO UPDATE SET second = excluded.second, amount = CASE"
    " WHEN spend_buckets.second = excluded.second THEN spend_buckets.amount + excluded.amount"
    " ELSE excluded.amount END"
)
# Both scopes' totals.
_TOTAL = (
    "UPDATE spend_controls SET total_spent = total_spent + :amount"
    " WHERE scope IN ('*', :marketplace)"
)
# The count: on SQLite a statement each; on PostgreSQL one (a data-modifying WITH).
_COUNT = {
    "sqlite": (text(_RING), text(_TOTAL)),
    "postgresql": (text(f"WITH ring AS ({_RING}) {_TOTAL}"),),
}


def reserve(
    conn: Connection, caps: Caps, marketplace: str, amount: int, now: int
) -> VaultError | None:
    """Count a live charge in the caller's transaction, or return why it is refused.

    A refusal that trips a cap is written by the same transaction, so the caller commits
    in both cases. The global row is locked first (an UPDATE, on SQLite and PostgreSQL
    alike): live charges are counted one at a time, so none slips past a cap in a race.
    A count is never taken back: a charge the network declines still counts.
    """
    conn.execute(_LOCK)
    scopes = {"marketplace": marketplace, "since": now - 60}
    rows = {row.scope: row for row in conn.execute(_SCOPES, scopes)}
    if marketplace not in rows:
        # Made under the global lock: no other charge makes it meanwhile.
        conn.execute(_NEW_SCOPE, {"new_scope": marketplace})
        rows = {row.scope: row for row in conn.execute(_SCOPES, scopes)}
    if any(row.breaker_open for row in rows.values()):
        return breaker_open()
    if any(row.tripped for row in rows.values()):
        return limit_reached()
    # The marketplace's own caps first: a tenant that passes them trips only itself, so the
    # global caps are reached only by the platform's volume, not by one tenant's.
    scoped = (
        (rows[marketplace], caps.marketplace_minute, caps.marketplace_total),
        (rows[GLOBAL], caps.global_minute, caps.global_total),
    )
    for row, minute_cap, total_cap in scoped:
        if amount > min(_cap(row.minute_cap, minute_cap), _cap(row.total_cap, total_cap)):
            # No window could ever pass it: refused alone, before it counts or trips a cap.
            return over_cap()
    for row, minute_cap, total_cap in scoped:
        tripped: Tripped | None = None
        if row.minute_spent + amount > _cap(row.minute_cap, minute_cap):
            tripped = "minute"
        elif row.total_spent + amount > _cap(row.total_cap, total_cap):
            tripped = "total"
        if tripped is not None:
            conn.execute(_TRIP, {"s": row.scope, "cap": tripped})
            return limit_reached()
    counted = {"marketplace": marketplace, "amount": amount, "now": now, "slot": now % 60}
    for statement in _COUNT[conn.dialect.name]:
        conn.execute(statement, counted)
    return None


def _cap(own: int | None, configured: int) -> int:
    return configured if own is None else own
