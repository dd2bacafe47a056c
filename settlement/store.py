"""Queries and writes for captures, voids and refunds (functions, as vault.store.repository)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vault.store.models import ChargeRecord, RefundRecord, SettlementRecord


def find_charge(session: Session, charge_id: str) -> ChargeRecord | None:
    """The charge a settlement or refund names (its metadata: a charge row holds no card)."""
    return session.get(ChargeRecord, charge_id)


def find_settlement(session: Session, charge_id: str) -> SettlementRecord | None:
    return session.get(SettlementRecord, charge_id)


def find_refund(session: Session, refund_id: str) -> RefundRecord | None:
    return session.get(RefundRecord, refund_id)


def complete_settlement(
    session: Session, charge_id: str, status: str, failure_code: str | None, now: int, owner: str
) -> bool:
    """Record the outcome of a settlement `owner` holds; False if it does not (any more)."""
    result = session.execute(
        update(SettlementRecord)
        .where(
            SettlementRecord.charge_id == charge_id,
            SettlementRecord.status == "processing",
            SettlementRecord.claimed_by == owner,
        )
        .values(status=status, failure_code=failure_code, completed_at=now, lease_until=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def reclaim_settlement(session: Session, claim: SettlementRecord) -> bool:
    """Claim again a settlement the network never answered; False if another did first."""
    result = session.execute(
        update(SettlementRecord)
        .where(
            SettlementRecord.charge_id == claim.charge_id,
            SettlementRecord.status == "failed",
            SettlementRecord.failure_code == "processing_error",
        )
        .values(
            action=claim.action,
            amount=claim.amount,
            status="processing",
            failure_code=None,
            created_at=claim.created_at,
            completed_at=None,
            claimed_by=claim.claimed_by,
            lease_until=claim.lease_until,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def reserve_refund(session: Session, charge_id: str, amount: int) -> bool:
    """Add `amount` to the refunded total if it stays within the capture; one statement,
    so two concurrent refunds cannot both read the old total (no read-then-write race)."""
    result = session.execute(
        update(SettlementRecord)
        .where(
            SettlementRecord.charge_id == charge_id,
            SettlementRecord.action == "capture",
            SettlementRecord.status == "succeeded",
            SettlementRecord.amount_refunded + amount <= SettlementRecord.amount,
        )
        .values(amount_refunded=SettlementRecord.amount_refunded + amount)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def complete_refund(
    session: Session,
    refund: RefundRecord,
    status: str,
    failure_code: str | None,
    now: int,
    owner: str,
) -> bool:
    """Record the outcome of a refund `owner` holds (False if it does not, any more); a
    failed refund gives its reservation back."""
    result = session.execute(
        update(RefundRecord)
        .where(
            RefundRecord.refund_id == refund.refund_id,
            RefundRecord.status == "processing",
            RefundRecord.claimed_by == owner,
        )
        .values(status=status, failure_code=failure_code, completed_at=now, lease_until=None)
    )
    recorded = bool(result.rowcount)  # type: ignore[attr-defined]
    if recorded and status != "succeeded":
        session.execute(
            update(SettlementRecord)
            .where(SettlementRecord.charge_id == refund.charge_id)
            .values(amount_refunded=SettlementRecord.amount_refunded - refund.amount)
        )
    return recorded


def refunds_of(session: Session, charge_id: str) -> list[RefundRecord]:
    """Every refund of a charge, oldest first."""
    query = select(RefundRecord).where(RefundRecord.charge_id == charge_id)
    return list(session.scalars(query.order_by(RefundRecord.created_at, RefundRecord.refund_id)))
