"""The queries of refunds, and the moves of a refund and of the charge's refunded amount."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.domain.states import RefundStatus, refund_event
from api.events import record_event
from api.presenters import refund_json
from api.store.models import Charge, Refund
from api.store.queries import Page, changed, fetch_page, owned


def refund(session: Session, marketplace_id: str, refund_id: str) -> Refund:
    return owned(session, Refund, refund_id, marketplace_id, "id", "refund")


def refunded_charge(session: Session, marketplace_id: str, charge_id: str) -> Charge:
    """The charge a refund names (its `charge` parameter); 404 unless the marketplace's."""
    return owned(session, Charge, charge_id, marketplace_id, "charge", "charge")


def live_release(session: Session, charge_id: str) -> Refund | None:
    """The charge's release that has not failed, if any (at most one: a unique index)."""
    return session.scalars(
        select(Refund).where(
            Refund.charge_id == charge_id, Refund.release.is_(True), Refund.status != "failed"
        )
    ).first()


def refunds_page(
    session: Session, marketplace_id: str, page: Page, charge_id: str | None
) -> tuple[list[Refund], bool]:
    where = [] if charge_id is None else [Refund.charge_id == charge_id]
    return fetch_page(session, Refund, marketplace_id, page, *where)


def reserve(session: Session, charge: Charge, amount: int) -> bool:
    """Hold `amount` on the captured charge: one conditional UPDATE, so concurrent refunds
    never together pass the capture; False if it would."""
    reserved = session.execute(
        update(Charge)
        .where(
            Charge.id == charge.id,
            Charge.status == "succeeded",
            Charge.amount_refunded + Charge.refund_reserved + amount <= Charge.amount_captured,
        )
        .values(refund_reserved=Charge.refund_reserved + amount)
    )
    return changed(reserved) > 0


def release_reservation(session: Session, refund: Refund, refunded: bool) -> None:
    """The reservation becomes a refunded amount, or is given back."""
    session.execute(
        update(Charge)
        .where(Charge.id == refund.charge_id)
        .values(
            refund_reserved=Charge.refund_reserved - refund.amount,
            amount_refunded=Charge.amount_refunded + (refund.amount if refunded else 0),
        )
    )


def move(
    session: Session, refund: Refund, new: RefundStatus, livemode: bool, **changes: Any
) -> bool:
    """Compare-and-set the refund from its status to `new`, with its event; False if
    another (a retry, the completer) moved it first."""
    event = refund_event(refund.status, new)
    moved = session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == refund.status)
        .values(status=new, **changes)
    )
    if not changed(moved):
        return False
    refund.status = new
    for name, value in changes.items():
        setattr(refund, name, value)
    record_event(session, refund.marketplace_id, event, refund_json(refund, livemode))
    return True
