"""The queries of customers and their cards."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.models import Customer, CustomerCard
from api.store.queries import Page, fetch_page, owned


def customer(session: Session, marketplace_id: str, customer_id: str) -> Customer:
    """The marketplace's customer, not deleted; 404 else."""
    return owned(session, Customer, customer_id, marketplace_id, "id", "customer")


def customers_page(
    session: Session, marketplace_id: str, page: Page, email: str | None
) -> tuple[list[Customer], bool]:
    where = [] if email is None else [Customer.email == email]
    return fetch_page(session, Customer, marketplace_id, page, *where)


def attached(session: Session, customer_id: str, card_id: str) -> CustomerCard | None:
    """The card, if it is attached to this customer."""
    row = session.get(CustomerCard, card_id)
    return row if row is not None and row.customer_id == customer_id else None


def cards_page(
    session: Session, marketplace_id: str, customer_id: str, page: Page
) -> tuple[list[CustomerCard], bool]:
    where = CustomerCard.customer_id == customer_id
    return fetch_page(session, CustomerCard, marketplace_id, page, where)


def newest_card(session: Session, customer_id: str) -> str | None:
    """The customer's card attached last: its default once the default is detached."""
    return session.scalars(
        select(CustomerCard.id)
        .where(CustomerCard.customer_id == customer_id)
        .order_by(CustomerCard.created.desc())
        .limit(1)
    ).first()


def holder(session: Session, marketplace_id: str, card_id: str) -> str | None:
    """The customer the card is attached to, if any."""
    return session.scalars(
        select(CustomerCard.customer_id).where(
            CustomerCard.id == card_id, CustomerCard.marketplace_id == marketplace_id
        )
    ).first()
