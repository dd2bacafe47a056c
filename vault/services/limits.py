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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

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


def reserve(
    session: Session, caps: Caps, marketplace: str, amount: int, now: int
) -> VaultError | None:
    """Count a live charge in the caller's transaction, or return why it is refused.

    A refusal that trips a cap is written by the same transaction, so the caller commits
    in both cases. The global row is locked first (an UPDATE, on SQLite and PostgreSQL
    alike): live charges are counted one at a time, so none slips past a cap in a race.
    """
    lock = update(SpendControl).where(SpendControl.scope == GLOBAL)
    session.execute(lock.values(total_spent=SpendControl.total_spent))
    query = select(SpendControl).where(SpendControl.scope.in_([GLOBAL, marketplace]))
    rows = {row.scope: row for row in session.scalars(query)}
    if marketplace not in rows:
        rows[marketplace] = SpendControl(scope=marketplace, breaker_open=False, total_spent=0)
        session.add(rows[marketplace])
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
        recent = select(func.coalesce(func.sum(ChargeRecord.amount), 0)).where(
            ChargeRecord.livemode.is_(True), ChargeRecord.created_at > now - 60
        )
        if row.scope != GLOBAL:
            recent = recent.where(ChargeRecord.marketplace_id == row.scope)
        if (session.scalar(recent) or 0) + amount > _cap(row.minute_cap, minute_cap):
            row.tripped = "minute"
        elif row.total_spent + amount > _cap(row.total_cap, total_cap):
            row.tripped = "total"
        if row.tripped:
            return limit_reached()
    for row in rows.values():
        row.total_spent += amount
    return None


def _cap(own: int | None, configured: int) -> int:
    return configured if own is None else own
