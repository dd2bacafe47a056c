"""Events, the webhook endpoints a merchant registers, and their deliveries (redelivered on
demand; the worker, api.webhooks.worker, makes the attempts)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from api.contracts import (
    Deleted,
    Event,
    ListOf,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointRoll,
    WebhookEndpointUpdate,
)
from api.idempotency import Secrets
from api.ids import derived_id, new_id
from api.presenters import as_delivery, as_endpoint, as_event
from api.store import models
from api.store.models import utcnow
from api.store.queries import Page
from api.webhooks import deliveries, store
from api.webhooks.signing import endpoint_secret
from servicekit import ServiceError

# Kept under an Idempotency-Key in place of a secret shown: the version it was derived at.
_SECRET_VERSION = "_strongroom_secret_version"  # noqa: S105  # a field's name


# As Stripe allows: every event is queued once per endpoint subscribed, in the transaction
# that records it.
MAX_ENDPOINTS = 16


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
        # How an answer showing an endpoint's secret is kept under its Idempotency-Key:
        # with the secret's version, not the secret, which a replay derives again. (The
        # secret is never stored: a copy of the database forges no webhook.)
        self.secrets = Secrets(kept=self._kept, shown=self._shown)

    def event(self, marketplace_id: str, event_id: str) -> Event:
        with self._sessions() as session:
            return as_event(store.event(session, marketplace_id, event_id), self._livemode)

    def events(self, marketplace_id: str, page: Page, type_: str | None, url: str) -> ListOf[Event]:
        with self._sessions() as session:
            rows, more = store.events_page(session, marketplace_id, page, type_)
        data = [as_event(row, self._livemode) for row in rows]
        return ListOf[Event](data=data, has_more=more, url=url)

    def _kept(self, answer: dict[str, Any]) -> dict[str, Any]:
        secret = answer.get("secret")
        if not isinstance(secret, str):
            return answer
        with self._sessions() as session:
            row = session.get_one(models.WebhookEndpoint, answer["id"])
            newest = row.secret_version
        # The version this answer's secret was derived at: the newest, unless a roll came
        # between the answer and now.
        version = next(
            v for v in range(newest, 0, -1) if endpoint_secret(self._secret, row.id, v) == secret
        )
        return {**{k: v for k, v in answer.items() if k != "secret"}, _SECRET_VERSION: version}

    def _shown(self, kept: dict[str, Any]) -> dict[str, Any]:
        version = kept.get(_SECRET_VERSION)
        if not isinstance(version, int):
            return kept
        answer = {k: v for k, v in kept.items() if k != _SECRET_VERSION}
        return {**answer, "secret": endpoint_secret(self._secret, answer["id"], version)}

    def refuse_insecure(self, url: str | None) -> None:
        """Live mode sends events only over TLS, as Stripe requires of live endpoints: they
        carry customers' and payments' data. Test mode also takes http:// (a developer's
        local receiver). Asked before an Idempotency-Key is taken: a refused URL is a
        malformed request, nothing ran, nothing is kept under the key."""
        if self._livemode and url is not None and urlsplit(url).scheme != "https":
            raise ServiceError(
                "Invalid URL: a live mode webhook endpoint must use HTTPS (an https:// URL "
                "with a valid certificate); test mode endpoints may also use http://.",
                code="url_invalid",
                param="url",
            )

    def create(
        self, marketplace_id: str, body: WebhookEndpointCreate, seed: str | None
    ) -> WebhookEndpoint:
        """The endpoint, with its signing secret: shown here, and when rolled, only."""
        self.refuse_insecure(body.url)
        endpoint_id = derived_id("we", self._secret, seed) if seed else new_id("we")
        with self._sessions.begin() as session:
            if store.live_endpoints(session, marketplace_id) >= MAX_ENDPOINTS:
                raise ServiceError(
                    f"A marketplace has at most {MAX_ENDPOINTS} webhook endpoints in each "
                    "mode: delete one first.",
                    code="webhook_endpoint_limit_reached",
                )
            endpoint = models.WebhookEndpoint(
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
        return as_endpoint(endpoint, self._livemode, secret)

    def endpoint(self, marketplace_id: str, endpoint_id: str) -> WebhookEndpoint:
        with self._sessions() as session:
            row = store.endpoint(session, marketplace_id, endpoint_id)
        return as_endpoint(row, self._livemode)

    def endpoints(self, marketplace_id: str, page: Page, url: str) -> ListOf[WebhookEndpoint]:
        with self._sessions() as session:
            rows, more = store.endpoints_page(session, marketplace_id, page)
        data = [as_endpoint(row, self._livemode) for row in rows]
        return ListOf[WebhookEndpoint](data=data, has_more=more, url=url)

    def update(
        self, marketplace_id: str, endpoint_id: str, body: WebhookEndpointUpdate
    ) -> WebhookEndpoint:
        self.refuse_insecure(body.url)
        with self._sessions.begin() as session:
            endpoint = store.endpoint(session, marketplace_id, endpoint_id)
            if body.url is not None:
                endpoint.url = body.url
            if body.enabled_events is not None:
                endpoint.enabled_events = sorted(set(body.enabled_events))
            if body.description is not None:
                endpoint.description = body.description
            if body.disabled is not None:
                endpoint.status = "disabled" if body.disabled else "enabled"
            return as_endpoint(endpoint, self._livemode)

    def roll(
        self, marketplace_id: str, endpoint_id: str, body: WebhookEndpointRoll
    ) -> WebhookEndpoint:
        """A new signing secret, shown once; deliveries signed from now on use it, and the
        current one too for `expires_in` seconds (two v1 signatures, as Stripe signs
        while an old secret expires). A roll ends any older secret's overlap: at most two
        sign at once."""
        with self._sessions.begin() as session:
            endpoint = store.endpoint(session, marketplace_id, endpoint_id)
            overlap = body.expires_in or 0
            endpoint.previous_secret_expires_at = (
                utcnow() + dt.timedelta(seconds=overlap) if overlap else None
            )
            endpoint.secret_version += 1
            secret = endpoint_secret(self._secret, endpoint.id, endpoint.secret_version)
            return as_endpoint(endpoint, self._livemode, secret)

    def delete(self, marketplace_id: str, endpoint_id: str) -> Deleted:
        with self._sessions.begin() as session:
            store.endpoint(session, marketplace_id, endpoint_id).deleted = True
        return Deleted(id=endpoint_id, object="webhook_endpoint")

    def delivery(self, marketplace_id: str, delivery_id: str) -> WebhookDelivery:
        with self._sessions() as session:
            row = store.delivery(session, marketplace_id, delivery_id)
            event = session.get_one(models.Event, row.event_id)
        return as_delivery(row, event.type, self._livemode)

    def deliveries(
        self,
        marketplace_id: str,
        page: Page,
        endpoint_id: str | None,
        event_id: str | None,
        status: str | None,
        url: str,
    ) -> ListOf[WebhookDelivery]:
        """Filtered by endpoint, event and status; `status=dead` is the dead-letter list."""
        with self._sessions() as session:
            rows, more = store.deliveries_page(
                session, marketplace_id, page, endpoint_id, event_id, status
            )
            types = store.event_types(session, [row.event_id for row in rows])
        data = [as_delivery(row, types[row.event_id], self._livemode) for row in rows]
        return ListOf[WebhookDelivery](data=data, has_more=more, url=url)

    def redeliver(self, marketplace_id: str, delivery_id: str) -> WebhookDelivery:
        """Queue a delivery again now, with a fresh set of attempts (dead ones included)."""
        with self._sessions.begin() as session:
            delivery = store.delivery(session, marketplace_id, delivery_id)
            deliveries.redeliver(session, delivery, utcnow())
            event = session.get_one(models.Event, delivery.event_id)
            return as_delivery(delivery, event.type, self._livemode)
