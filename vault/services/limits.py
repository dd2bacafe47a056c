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

from sqlalchemy import Connection, Table, bindparam, case, func, insert, select, update

from vault.domain.states import Tripped
from vault.errors import VaultError
from vault.store.models import ChargeRecord, SpendControl

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
_charges = cast(Table, ChargeRecord.__table__)
_LOCK = (
    update(_controls).where(_controls.c.scope == GLOBAL).values(total_spent=_controls.c.total_spent)
)
_SCOPES = select(
    _controls.c.scope,
    _controls.c.breaker_open,
    _controls.c.tripped,
    _controls.c.minute_cap,
    _controls.c.total_cap,
    _controls.c.total_spent,
).where(_controls.c.scope.in_([GLOBAL, bindparam("marketplace")]))
_NEW_SCOPE = insert(_controls).values(
    scope=bindparam("new_scope"), breaker_open=False, total_spent=0
)
# The last minute's live volume, all marketplaces and this one, in one scan of the index.
_RECENT = select(
    func.coalesce(func.sum(_charges.c.amount), 0),
    func.coalesce(
        func.sum(case((_charges.c.marketplace_id == bindparam("marketplace"), _charges.c.amount))),
        0,
    ),
).where(_charges.c.livemode.is_(True), _charges.c.created_at > bindparam("since"))
_TRIP = (
    update(_controls).where(_controls.c.scope == bindparam("s")).values(tripped=bindparam("cap"))
)
_COUNT = (
    update(_controls)
    .where(_controls.c.scope.in_([GLOBAL, bindparam("marketplace")]))
    .values(total_spent=_controls.c.total_spent + bindparam("amount"))
)


def reserve(
    conn: Connection, caps: Caps, marketplace: str, amount: int, now: int
) -> VaultError | None:
    """Count a live charge in the caller's transaction, or return why it is refused.

    A refusal that trips a cap is written by the same transaction, so the caller commits
    in both cases. The global row is locked first (an UPDATE, on SQLite and PostgreSQL
    alike): live charges are counted one at a time, so none slips past a cap in a race.
    """
    conn.execute(_LOCK)
    rows = {row.scope: row for row in conn.execute(_SCOPES, {"marketplace": marketplace})}
    if marketplace not in rows:
        # Made under the global lock: no other charge makes it meanwhile.
        conn.execute(_NEW_SCOPE, {"new_scope": marketplace})
        rows = {row.scope: row for row in conn.execute(_SCOPES, {"marketplace": marketplace})}
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
    everyone, own = conn.execute(_RECENT, {"marketplace": marketplace, "since": now - 60}).one()
    recent = {marketplace: own or 0, GLOBAL: everyone or 0}
    for row, minute_cap, total_cap in scoped:
        tripped: Tripped | None = None
        if recent[row.scope] + amount > _cap(row.minute_cap, minute_cap):
            tripped = "minute"
        elif row.total_spent + amount > _cap(row.total_cap, total_cap):
            tripped = "total"
        if tripped is not None:
            conn.execute(_TRIP, {"s": row.scope, "cap": tripped})
            return limit_reached()
    conn.execute(_COUNT, {"marketplace": marketplace, "amount": amount})
    return None


def _cap(own: int | None, configured: int) -> int:
    return configured if own is None else own
