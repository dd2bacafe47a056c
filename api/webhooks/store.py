"""The queries of events, webhook endpoints and their deliveries."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.store.models import Event, WebhookDelivery, WebhookEndpoint
from api.store.queries import Page, fetch_page, owned


def event(session: Session, marketplace_id: str, event_id: str) -> Event:
    return owned(session, Event, event_id, marketplace_id, "id", "event")


def events_page(
    session: Session, marketplace_id: str, page: Page, type_: str | None
) -> tuple[list[Event], bool]:
    if type_ is None:
        where = []
    elif type_.endswith(".*"):  # every type of one resource: `charge.*`
        where = [Event.type.startswith(type_[:-1], autoescape=True)]
    else:
        where = [Event.type == type_]
    return fetch_page(session, Event, marketplace_id, page, *where)


def endpoint(session: Session, marketplace_id: str, endpoint_id: str) -> WebhookEndpoint:
    """The marketplace's endpoint, not deleted; 404 else."""
    return owned(session, WebhookEndpoint, endpoint_id, marketplace_id, "id", "webhook endpoint")


def live_endpoints(session: Session, marketplace_id: str) -> int:
    """How many endpoints the marketplace has, not deleted."""
    query = select(func.count()).select_from(WebhookEndpoint)
    query = query.where(WebhookEndpoint.marketplace_id == marketplace_id)
    return session.scalar(query.where(WebhookEndpoint.deleted.is_(False))) or 0


def endpoints_page(
    session: Session, marketplace_id: str, page: Page
) -> tuple[list[WebhookEndpoint], bool]:
    return fetch_page(session, WebhookEndpoint, marketplace_id, page)


def delivery(session: Session, marketplace_id: str, delivery_id: str) -> WebhookDelivery:
    return owned(session, WebhookDelivery, delivery_id, marketplace_id, "id", "webhook delivery")


def deliveries_page(
    session: Session,
    marketplace_id: str,
    page: Page,
    endpoint_id: str | None,
    event_id: str | None,
    status: str | None,
) -> tuple[list[WebhookDelivery], bool]:
    where = []
    if endpoint_id is not None:
        where.append(WebhookDelivery.endpoint_id == endpoint_id)
    if event_id is not None:
        where.append(WebhookDelivery.event_id == event_id)
    if status is not None:
        where.append(WebhookDelivery.status == status)
    return fetch_page(session, WebhookDelivery, marketplace_id, page, *where)


def event_types(session: Session, event_ids: list[str]) -> dict[str, str]:
    """The type of each of these events, by id."""
    found = session.execute(select(Event.id, Event.type).where(Event.id.in_(event_ids)))
    return dict(found.tuples().all())
