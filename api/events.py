"""Events: every state change a merchant may want to hear of, and the webhooks it owes.

An event and its deliveries are written in the transaction that makes the change (an
outbox): a committed change always has its event, and every subscribed endpoint a
delivery row that the worker retries until it succeeds or is declared dead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.orm import Session

from api.ids import new_id
from api.store.models import Event, WebhookDelivery, WebhookEndpoint, utcnow
from api.webhooks.deliveries import QUEUED


def subscribed(enabled_events: list[str], event_type: str) -> bool:
    return "*" in enabled_events or event_type in enabled_events


# Built once, with bound parameters: an event is written by every change of state, and
# building the statements per call cost SQLAlchemy more CPU than running them.
_INSERT_EVENT = insert(Event)
_INSERT_DELIVERY = insert(WebhookDelivery)
_SUBSCRIBERS = select(WebhookEndpoint.id, WebhookEndpoint.enabled_events).where(
    WebhookEndpoint.marketplace_id == bindparam("m"),
    WebhookEndpoint.status == "enabled",
    WebhookEndpoint.deleted.is_(False),
)


def record(connection: Connection, marketplace_id: str, type: str, data: dict[str, Any]) -> str:
    """Write the event and a delivery for each endpoint subscribed to it, in the
    connection's transaction (the change's own); its id."""
    now = utcnow()
    event_id = new_id("evt")
    connection.execute(
        _INSERT_EVENT,
        {
            "id": event_id,
            "marketplace_id": marketplace_id,
            "type": type,
            "data": {"object": data},
            "created": now,
        },
    )
    owed = [
        {
            "id": new_id("dlv"),
            "marketplace_id": marketplace_id,
            "endpoint_id": endpoint_id,
            "event_id": event_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created": now,
        }
        for endpoint_id, enabled_events in connection.execute(_SUBSCRIBERS, {"m": marketplace_id})
        if subscribed(enabled_events, type)
    ]
    if owed:
        connection.execute(_INSERT_DELIVERY, owed)
        for _ in owed:
            QUEUED.add()  # the request wakes the worker once this is committed
    return event_id


def record_event(session: Session, marketplace_id: str, type: str, data: dict[str, Any]) -> str:
    """`record` in the session's transaction; the event's id."""
    return record(session.connection(), marketplace_id, type, data)
