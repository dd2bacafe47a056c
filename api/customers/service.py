"""Customers and their cards (tokens, with the vault's metadata; never a card number)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from api.clients.vault import VaultCard, VaultClient
from api.contracts import Card, CustomerCreate, CustomerUpdate, Deleted, ListOf
from api.contracts import Customer as CustomerOut
from api.customers import store
from api.domain.metadata import new_metadata, updated_metadata
from api.events import record_event
from api.ids import derived_id, new_id
from api.presenters import as_card, as_customer, as_vault_card, customer_json
from api.store.models import Customer, CustomerCard, utcnow
from api.store.queries import Page
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

    def create(self, marketplace_id: str, body: CustomerCreate, seed: str | None) -> CustomerOut:
        customer_id = derived_id("cus", self._id_secret, seed) if seed else new_id("cus")
        card = self._vault.card(body.token, marketplace_id) if body.token else None
        with self._sessions.begin() as session:
            customer = Customer(
                id=customer_id,
                marketplace_id=marketplace_id,
                email=body.email,
                name=body.name,
                description=body.description,
                metadata_=new_metadata(body.metadata),
                deleted=False,
                created=utcnow(),
            )
            session.add(customer)
            session.flush()
            if card is not None:
                self._attach(session, customer, card)
            self._record(session, "customer.created", customer)
            return as_customer(customer, self._livemode)

    def retrieve(self, marketplace_id: str, customer_id: str) -> CustomerOut:
        with self._sessions() as session:
            return as_customer(store.customer(session, marketplace_id, customer_id), self._livemode)

    def list(
        self, marketplace_id: str, page: Page, email: str | None, url: str
    ) -> ListOf[CustomerOut]:
        with self._sessions() as session:
            rows, more = store.customers_page(session, marketplace_id, page, email)
        data = [as_customer(row, self._livemode) for row in rows]
        return ListOf[CustomerOut](data=data, has_more=more, url=url)

    def update(self, marketplace_id: str, customer_id: str, body: CustomerUpdate) -> CustomerOut:
        with self._sessions.begin() as session:
            customer = store.customer(session, marketplace_id, customer_id)
            given = body.model_fields_set
            for field in ("email", "name", "description"):
                if field in given:  # given empty (or null): unset, as in Stripe
                    setattr(customer, field, getattr(body, field))
            customer.metadata_ = updated_metadata(dict(customer.metadata_), body.metadata, given)
            if body.default is not None:
                if store.attached(session, customer.id, body.default) is None:
                    raise NotFound(
                        f"Customer {customer.id} has no source '{body.default}'.",
                        param="default_source",
                    )
                customer.default_card = body.default
            self._record(session, "customer.updated", customer)
            return as_customer(customer, self._livemode)

    def delete(self, marketplace_id: str, customer_id: str) -> Deleted:
        with self._sessions.begin() as session:
            customer = store.customer(session, marketplace_id, customer_id)
            customer.deleted = True
            self._record(session, "customer.deleted", customer)
        return Deleted(id=customer_id, object="customer")

    def attach(self, marketplace_id: str, customer_id: str, card_id: str) -> Card:
        with self._sessions() as session:
            store.customer(session, marketplace_id, customer_id)
        card = self._vault.card(card_id, marketplace_id)  # 404 unless ours, of this mode
        with self._sessions.begin() as session:
            customer = store.customer(session, marketplace_id, customer_id)
            return as_card(self._attach(session, customer, card), self._livemode)

    def cards(self, marketplace_id: str, customer_id: str, page: Page, url: str) -> ListOf[Card]:
        with self._sessions() as session:
            store.customer(session, marketplace_id, customer_id)
            rows, more = store.cards_page(session, marketplace_id, customer_id, page)
        data = [as_card(row, self._livemode) for row in rows]
        return ListOf[Card](data=data, has_more=more, url=url)

    def card(self, marketplace_id: str, customer_id: str, card_id: str) -> Card:
        with self._sessions() as session:
            store.customer(session, marketplace_id, customer_id)
            row = store.attached(session, customer_id, card_id)
        if row is None:
            raise NotFound(f"Customer {customer_id} has no source '{card_id[:64]}'.")
        return as_card(row, self._livemode)

    def token_card(self, marketplace_id: str, card_id: str) -> Card:
        """Any card token of the marketplace (the vault's metadata of it), and the customer
        holding it, if one does."""
        card = self._vault.card(card_id, marketplace_id)  # 404 unless ours, of this mode
        with self._sessions() as session:
            customer = store.holder(session, marketplace_id, card.id)
        return as_vault_card(card, customer)

    def detach(self, marketplace_id: str, customer_id: str, card_id: str) -> Deleted:
        with self._sessions.begin() as session:
            customer = store.customer(session, marketplace_id, customer_id)
            row = store.attached(session, customer.id, card_id)
            if row is None:
                raise NotFound(f"Customer {customer.id} has no card '{card_id}'.", param="card")
            session.delete(row)
            if customer.default_card == card_id:
                session.flush()
                customer.default_card = store.newest_card(session, customer.id)
        return Deleted(id=card_id, object="card")

    def _record(self, session: Session, event: str, customer: Customer) -> None:
        record_event(
            session, customer.marketplace_id, event, customer_json(customer, self._livemode)
        )

    @staticmethod
    def _attach(session: Session, customer: Customer, card: VaultCard) -> CustomerCard:
        existing = session.get(CustomerCard, card.id)
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
            id=card.id,
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
            customer.default_card = card.id
        return row
