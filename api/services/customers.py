"""Customers and their cards (tokens, with the vault's metadata; never a card number)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.clients.vault import VaultClient
from api.contracts import CustomerCreate, CustomerUpdate
from api.events import record_event
from api.ids import derived_id, new_id
from api.presenters import customer_card_json, customer_json
from api.services.common import owned, updated_metadata
from api.store.models import Customer, CustomerCard, utcnow
from servicekit import NotFound, ServiceError


class CustomerService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: VaultClient,
        livemode: bool,
        id_secret: bytes,
    ) -> None:
        self._sessions = sessions
        self._vault = vault
        self._livemode = livemode
        self._id_secret = id_secret

    def _json(self, customer: Customer) -> dict[str, Any]:
        return customer_json(customer, self._livemode)

    def create(self, marketplace_id: str, body: CustomerCreate, seed: str | None) -> dict[str, Any]:
        customer_id = derived_id("cus", self._id_secret, seed) if seed else new_id("cus")
        card = self._vault.card(body.token, marketplace_id) if body.token else None
        with self._sessions.begin() as session:
            customer = Customer(
                id=customer_id,
                marketplace_id=marketplace_id,
                email=body.email,
                name=body.name,
                description=body.description,
                metadata_=body.metadata,
                deleted=False,
                created=utcnow(),
            )
            session.add(customer)
            session.flush()
            if card is not None:
                self._attach(session, customer, card.id, card)
            record_event(session, marketplace_id, "customer.created", self._json(customer))
            return self._json(customer)

    def update(self, marketplace_id: str, customer_id: str, body: CustomerUpdate) -> dict[str, Any]:
        with self._sessions.begin() as session:
            customer = owned(session, Customer, customer_id, marketplace_id, "id", "customer")
            given = body.model_fields_set
            for field in ("email", "name", "description"):
                if field in given:  # given empty (or null): unset, as in Stripe
                    setattr(customer, field, getattr(body, field))
            customer.metadata_ = updated_metadata(dict(customer.metadata_), body.metadata, given)
            if body.default is not None:
                attached = session.get(CustomerCard, body.default)
                if attached is None or attached.customer_id != customer.id:
                    raise NotFound(
                        f"Customer {customer.id} has no source '{body.default}'.",
                        param="default_source",
                    )
                customer.default_card = attached.id
            record_event(session, marketplace_id, "customer.updated", self._json(customer))
            return self._json(customer)

    def delete(self, marketplace_id: str, customer_id: str) -> dict[str, Any]:
        with self._sessions.begin() as session:
            customer = owned(session, Customer, customer_id, marketplace_id, "id", "customer")
            customer.deleted = True
            record_event(session, marketplace_id, "customer.deleted", self._json(customer))
        return {"id": customer_id, "object": "customer", "deleted": True}

    def attach(self, marketplace_id: str, customer_id: str, card_id: str) -> dict[str, Any]:
        with self._sessions() as session:
            owned(session, Customer, customer_id, marketplace_id, "id", "customer")
        card = self._vault.card(card_id, marketplace_id)  # 404 unless ours, of this mode
        with self._sessions.begin() as session:
            customer = owned(session, Customer, customer_id, marketplace_id, "id", "customer")
            row = self._attach(session, customer, card.id, card)
            return customer_card_json(row, self._livemode)

    @staticmethod
    def _attach(session: Session, customer: Customer, card_id: str, card: Any) -> CustomerCard:
        existing = session.get(CustomerCard, card_id)
        if existing is not None:
            if existing.customer_id != customer.id:
                raise ServiceError(
                    "This card is attached to another customer.",
                    code="card_already_attached",
                    param="source",
                    status_code=409,
                )
            return existing
        row = CustomerCard(
            id=card_id,
            marketplace_id=customer.marketplace_id,
            customer_id=customer.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=card.fingerprint,
            created=utcnow(),
        )
        session.add(row)
        if customer.default_card is None:
            customer.default_card = card_id
        return row

    def detach(self, marketplace_id: str, customer_id: str, card_id: str) -> dict[str, Any]:
        with self._sessions.begin() as session:
            customer = owned(session, Customer, customer_id, marketplace_id, "id", "customer")
            row = session.get(CustomerCard, card_id)
            if row is None or row.customer_id != customer.id:
                raise NotFound(f"Customer {customer.id} has no card '{card_id}'.", param="card")
            session.delete(row)
            if customer.default_card == card_id:
                session.flush()
                other = session.scalars(
                    select(CustomerCard.id)
                    .where(CustomerCard.customer_id == customer.id)
                    .order_by(CustomerCard.created.desc())
                    .limit(1)
                ).first()
                customer.default_card = other
        return {"id": card_id, "object": "card", "deleted": True}
