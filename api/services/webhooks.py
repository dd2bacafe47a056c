"""Webhook endpoints a merchant registers, and redelivery of their deliveries on demand."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.contracts import WebhookEndpointCreate, WebhookEndpointUpdate
from api.ids import derived_id, new_id
from api.presenters import delivery_json, endpoint_json
from api.services.common import owned
from api.store.models import Event, WebhookDelivery, WebhookEndpoint, utcnow
from api.webhooks import deliveries
from api.webhooks.signing import endpoint_secret


class WebhookService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        livemode: bool,
        stack_secret: bytes,
    ) -> None:
        self._sessions = sessions
        self._livemode = livemode
        self._secret = stack_secret

    def create(
        self, marketplace_id: str, body: WebhookEndpointCreate, seed: str | None
    ) -> dict[str, Any]:
        endpoint_id = derived_id("we", self._secret, seed) if seed else new_id("we")
        with self._sessions.begin() as session:
            endpoint = WebhookEndpoint(
                id=endpoint_id,
                marketplace_id=marketplace_id,
                url=body.url,
                description=body.description,
                enabled_events=sorted(set(body.enabled_events)),
                status="enabled",
                secret_version=1,
                deleted=False,
                created=utcnow(),
            )
            session.add(endpoint)
        secret = endpoint_secret(self._secret, endpoint.id, endpoint.secret_version)
        return endpoint_json(endpoint, self._livemode, secret)

    def update(
        self, marketplace_id: str, endpoint_id: str, body: WebhookEndpointUpdate
    ) -> dict[str, Any]:
        with self._sessions.begin() as session:
            endpoint = owned(
                session, WebhookEndpoint, endpoint_id, marketplace_id, "id", "webhook endpoint"
            )
            if body.url is not None:
                endpoint.url = body.url
            if body.enabled_events is not None:
                endpoint.enabled_events = sorted(set(body.enabled_events))
            if body.description is not None:
                endpoint.description = body.description
            if body.disabled is not None:
                endpoint.status = "disabled" if body.disabled else "enabled"
            return endpoint_json(endpoint, self._livemode)

    def roll(self, marketplace_id: str, endpoint_id: str) -> dict[str, Any]:
        """A new signing secret, shown once; deliveries signed from now on use it."""
        with self._sessions.begin() as session:
            endpoint = owned(
                session, WebhookEndpoint, endpoint_id, marketplace_id, "id", "webhook endpoint"
            )
            endpoint.secret_version += 1
            secret = endpoint_secret(self._secret, endpoint.id, endpoint.secret_version)
            return endpoint_json(endpoint, self._livemode, secret)

    def delete(self, marketplace_id: str, endpoint_id: str) -> dict[str, Any]:
        with self._sessions.begin() as session:
            endpoint = owned(
                session, WebhookEndpoint, endpoint_id, marketplace_id, "id", "webhook endpoint"
            )
            endpoint.deleted = True
        return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}

    def redeliver(self, marketplace_id: str, delivery_id: str) -> dict[str, Any]:
        """Queue a delivery again now, with a fresh set of attempts (dead ones included)."""
        with self._sessions.begin() as session:
            delivery = owned(
                session, WebhookDelivery, delivery_id, marketplace_id, "id", "webhook delivery"
            )
            deliveries.redeliver(session, delivery, utcnow())
            event = session.get_one(Event, delivery.event_id)
            return delivery_json(delivery, event.type, self._livemode)
