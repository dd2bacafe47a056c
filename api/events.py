"""Events: every state change a merchant may want to hear of, and the webhooks it owes.

An event and its deliveries are written in the transaction that makes the change (an
outbox): a committed change always has its event, and every subscribed endpoint a
delivery row that the worker retries until it succeeds or is declared dead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ids import new_id
from api.store.models import Event, WebhookDelivery, WebhookEndpoint, utcnow
from api.webhooks.deliveries import QUEUED


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return "*" in endpoint.enabled_events or event_type in endpoint.enabled_events


def record_event(session: Session, marketplace_id: str, type: str, data: dict[str, Any]) -> Event:
    now = utcnow()
    event = Event(
        id=new_id("evt"),
        marketplace_id=marketplace_id,
        type=type,
        data={"object": data},
        created=now,
    )
    session.add(event)
    session.flush()  # the deliveries below refer to it
    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.marketplace_id == marketplace_id,
            WebhookEndpoint.status == "enabled",
            WebhookEndpoint.deleted.is_(False),
        )
    )
    for endpoint in endpoints:
        if subscribed(endpoint, type):
            session.add(
                WebhookDelivery(
                    id=new_id("dlv"),
                    marketplace_id=marketplace_id,
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created=now,
                )
            )
            QUEUED.add()  # the request wakes the worker once this is committed
    return event
