"""Charges and refunds whose answer was lost (a crash, a vault timeout) are settled from
what the vault did. Run by each stack's worker thread every minute; safe to run anywhere
at once, since every move is a compare-and-set and the vault replays, never redoes.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.clients.vault import VaultClient, VaultTimeout, VaultUnreachable
from api.services.charges import ChargeService
from api.services.refunds import RefundService
from api.store.models import Charge, Refund, utcnow
from strongroom.web import ServiceError

# Past the clearance's lifetime a charge the vault never saw can never reach it.
CHARGE_STUCK_AFTER = dt.timedelta(minutes=5)
REFUND_STUCK_AFTER = dt.timedelta(minutes=1)
BATCH = 50

Stuck = TypeVar("Stuck", Charge, Refund)


def _pending(
    sessions: sessionmaker[Session], model: type[Stuck], cutoff: dt.datetime
) -> list[Stuck]:
    """Up to BATCH rows of `model` still pending since before `cutoff`."""
    with sessions() as session:
        query = select(model).where(model.status == "pending", model.created < cutoff)
        return list(session.scalars(query.limit(BATCH)))


def reconcile_charges(
    charges: ChargeService, vault: VaultClient, now: dt.datetime | None = None
) -> int:
    """Settle charges left pending; returns how many were looked at."""
    stuck = _pending(charges.sessions, Charge, (now or utcnow()) - CHARGE_STUCK_AFTER)
    for charge in stuck:
        try:
            state = vault.state(charge.id, charge.marketplace_id)
        except (VaultUnreachable, VaultTimeout, ServiceError):
            continue  # no answer: asked again at the next pass
        if state is None:
            # Never reached the vault, and its clearance has expired: it never will.
            charges.settle(
                charge,
                "failed",
                failure_code="processing_error",
                failure_message="The charge was not executed; nothing was charged.",
            )
        elif state.status == "failed":
            charges.settle(charge, "failed", failure_code=state.failure_code)
        elif state.status == "succeeded":
            authorised = {"authorization_code": state.authorization_code}
            if charge.capture:
                charges.capture_authorised(charge, authorised)
            else:
                charges.settle(charge, "authorized", **authorised)
    return len(stuck)


def reconcile_refunds(refunds: RefundService, now: dt.datetime | None = None) -> int:
    """Ask the vault again about pending refunds (it replays, never redoes); how many settled."""
    pending = _pending(refunds.sessions, Refund, (now or utcnow()) - REFUND_STUCK_AFTER)
    settled = 0
    for refund in pending:
        try:
            refunds.execute(refund, retrying=True)
            settled += 1
        except ServiceError:
            continue  # still pending: asked again at the next pass
    return settled
