"""Queries and writes for captures, voids and refunds (repository functions, as in repository)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from vault.store.models import ChargeRecord, RefundRecord, SettlementRecord


def find_settlement(session: Session, charge_id: str) -> SettlementRecord | None:
    return session.get(SettlementRecord, charge_id)


def find_refund(session: Session, refund_id: str) -> RefundRecord | None:
    return session.get(RefundRecord, refund_id)


def complete_settlement(
    session: Session, charge_id: str, status: str, failure_code: str | None, now: int
) -> None:
    session.execute(
        update(SettlementRecord)
        .where(SettlementRecord.charge_id == charge_id, SettlementRecord.status == "processing")
        .values(status=status, failure_code=failure_code, completed_at=now)
    )


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
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def abandoned_settlements(
    session: Session, created_before: int
) -> list[tuple[SettlementRecord, str]]:
    """Settlements still processing claimed before `created_before`, with their card token."""
    query = (
        select(SettlementRecord, ChargeRecord.token)
        .join(ChargeRecord, ChargeRecord.charge_id == SettlementRecord.charge_id)
        .where(SettlementRecord.status == "processing")
        .where(SettlementRecord.created_at < created_before)
    )
    return [(row[0], row[1]) for row in session.execute(query.limit(500))]


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
    session: Session, refund: RefundRecord, status: str, failure_code: str | None, now: int
) -> None:
    """Record a refund's outcome; a failed refund gives its reservation back."""
    session.execute(
        update(RefundRecord)
        .where(RefundRecord.refund_id == refund.refund_id, RefundRecord.status == "processing")
        .values(status=status, failure_code=failure_code, completed_at=now)
    )
    if status != "succeeded":
        session.execute(
            update(SettlementRecord)
            .where(SettlementRecord.charge_id == refund.charge_id)
            .values(amount_refunded=SettlementRecord.amount_refunded - refund.amount)
        )


def refunded_total(session: Session, charge_id: str) -> int:
    """Succeeded refunds of a charge."""
    total = session.scalar(
        select(func.coalesce(func.sum(RefundRecord.amount), 0)).where(
            RefundRecord.charge_id == charge_id, RefundRecord.status == "succeeded"
        )
    )
    return int(total or 0)
