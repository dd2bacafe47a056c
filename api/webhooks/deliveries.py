"""The delivery table as a work queue: due rows are leased, attempted, then settled.

A lease (`lease_until`) is taken by compare-and-set, so any number of worker threads in
any number of API processes may share one database: each attempt is made by one of them,
and a worker that dies mid-attempt only delays that delivery until its lease runs out.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.store.db import statement
from api.store.models import Event, WebhookDelivery, WebhookEndpoint


class Queued:
    """How many deliveries this process has made due: a request wakes the worker only
    when the count moved while it ran, not after every POST (a pass of the worker is a
    query, and most requests queue no webhook)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


QUEUED = Queued()


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) failing waits base·2^(n-1), at most `cap`, then `max_attempts`
    failures make the delivery dead: it stays in the dead-letter list until redelivered."""

    max_attempts: int = 10
    base: dt.timedelta = dt.timedelta(seconds=60)
    cap: dt.timedelta = dt.timedelta(hours=6)

    def delay(self, attempts: int) -> dt.timedelta:
        plain = min(self.base * (1 << min(attempts - 1, 40)), self.cap)
        # Up to 10% jitter, so endpoints that failed together are not retried together.
        jitter: float = 1 + random.random() / 10  # noqa: S311 - not a secret
        return plain * jitter


@dataclass(frozen=True)
class Attempt:
    delivery_id: str
    endpoint_id: str
    url: str
    secret_version: int
    # The secret a roll keeps signing too, until its expiry; None: the one secret only.
    previous_secret_version: int | None
    event: Event
    deliverable: bool  # false: the endpoint was deleted or disabled meanwhile


# Built once: every worker polls with these (every 5 s and when woken), however idle.
_FREE = or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < bindparam("now"))
_DUE = (
    select(WebhookDelivery.id)
    .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= bindparam("now"))
    .where(_FREE)
    .order_by(WebhookDelivery.next_attempt_at)
    .limit(bindparam("limit"))
)
_LEASE = (
    update(WebhookDelivery)
    .where(WebhookDelivery.id == bindparam("delivery_id"), WebhookDelivery.status == "pending")
    .where(_FREE)
    .values(lease_until=bindparam("until"))
)


def claim_due(
    sessions: sessionmaker[Session], now: dt.datetime, lease: dt.timedelta, limit: int
) -> list[str]:
    """Lease up to `limit` due deliveries; returns the ids this caller now holds.

    Each statement in autocommit (each is atomic by itself): an idle poll is one round
    trip, not a BEGIN, the query and a ROLLBACK."""
    with statement(sessions.kw["bind"]) as connection:
        candidates = list(connection.execute(_DUE, {"now": now, "limit": limit}).scalars())
        claimed = []
        for delivery_id in candidates:
            taken = connection.execute(
                _LEASE, {"delivery_id": delivery_id, "now": now, "until": now + lease}
            )
            if taken.rowcount:
                claimed.append(delivery_id)
    return claimed


def load(sessions: sessionmaker[Session], delivery_id: str, now: dt.datetime) -> Attempt:
    """What an attempt made at `now` sends, and where, signed with which secrets."""
    with sessions() as session:
        delivery = session.get_one(WebhookDelivery, delivery_id)
        endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
        event = session.get_one(Event, delivery.event_id)
    overlap = endpoint.previous_secret_expires_at
    # SQLite gives the moment back without its zone; it was stored as UTC.
    if overlap is not None and overlap.tzinfo is None:
        overlap = overlap.replace(tzinfo=dt.UTC)
    still = overlap is not None and now < overlap and endpoint.secret_version > 1
    return Attempt(
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        url=endpoint.url,
        secret_version=endpoint.secret_version,
        previous_secret_version=endpoint.secret_version - 1 if still else None,
        event=event,
        deliverable=endpoint.status == "enabled" and not endpoint.deleted,
    )


def settle(
    sessions: sessionmaker[Session],
    delivery_id: str,
    ok: bool,
    response_status: int | None,
    error: str | None,
    now: dt.datetime,
    policy: RetryPolicy,
) -> str:
    """Record one attempt; returns the delivery's new status."""
    with sessions.begin() as session:
        delivery = session.get_one(WebhookDelivery, delivery_id, with_for_update=True)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_response_status = response_status
        delivery.last_error = None if ok else (error or "failed")[:200]
        delivery.lease_until = None
        if ok:
            delivery.status, delivery.next_attempt_at = "succeeded", None
        elif delivery.attempts >= policy.max_attempts:
            delivery.status, delivery.next_attempt_at = "dead", None
        else:
            delivery.next_attempt_at = now + policy.delay(delivery.attempts)
        return delivery.status


def redeliver(session: Session, delivery: WebhookDelivery, now: dt.datetime) -> None:
    """Back to the queue, due now, with a fresh set of attempts (redelivery on demand)."""
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_until = None
    QUEUED.add()
