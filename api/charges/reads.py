"""What a charge's answer may expand (its customer, refunds and card), and a page of the
marketplace's charges: the reads of the charge routes, on the charge service's sessions
and vault client (each runs in a worker thread)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, sessionmaker

from api.clients.vault import VaultClient
from api.presenters import as_vault_card, charge_json, customer_json, refund_json
from api.store.models import Charge, Customer, Refund
from api.store.queries import Page, fetch_page

STATUSES = ("succeeded", "pending", "failed")


def status_is(status: str) -> ColumnElement[bool]:
    """Stripe's status, in terms of the stored one (see api.presenters.stripe_status)."""
    authorised = Charge.authorization_code.is_not(None)
    if status == "succeeded":
        return Charge.status.in_(("succeeded", "authorized")) | (
            (Charge.status == "canceled") & authorised
        )
    if status == "pending":
        return Charge.status.in_(("pending", "pending_review"))
    return Charge.status.in_(("failed", "blocked")) | ((Charge.status == "canceled") & ~authorised)


class ChargeReads:
    def __init__(self, sessions: sessionmaker[Session], vault: VaultClient, livemode: bool):
        self._sessions = sessions
        self._vault = vault
        self._livemode = livemode

    def expand(
        self, marketplace_id: str, charge: dict[str, Any], wanted: set[str]
    ) -> dict[str, Any]:
        """`charge` (its JSON) with the ids `wanted` replaced by the objects they name."""
        customer_id = charge["customer"]
        if "customer" in wanted and customer_id is not None:
            with self._sessions() as session:
                row = session.get(Customer, customer_id)
            if row is not None:
                charge["customer"] = customer_json(row, self._livemode)
        if "refunds" in wanted:
            with self._sessions() as session:
                refunds = session.scalars(
                    select(Refund)
                    .where(Refund.charge_id == charge["id"])
                    .order_by(Refund.created.desc(), Refund.id.desc())
                ).all()
            charge["refunds"] = {
                "object": "list",
                "data": [refund_json(r, self._livemode) for r in refunds],
                "has_more": False,
                "url": f"/v1/refunds?charge={charge['id']}",
            }
        if wanted & {"source", "card"}:
            card = self._vault.card(charge["source"], marketplace_id)
            charge["source"] = as_vault_card(card, customer_id).model_dump(mode="json")
        return charge

    def page(
        self,
        marketplace_id: str,
        page: Page,
        customer: str | None,
        status: str | None,
        wanted: set[str],
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of the marketplace's charges, newest first, each expanded as `wanted`."""
        where = []
        if customer is not None:
            where.append(Charge.customer_id == customer)
        if status is not None:
            where.append(status_is(status))
        with self._sessions() as session:
            rows, more = fetch_page(session, Charge, marketplace_id, page, *where)
        charges = [charge_json(row, self._livemode) for row in rows]
        return [self.expand(marketplace_id, c, wanted) for c in charges], more
