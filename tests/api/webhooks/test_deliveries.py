"""The delivery queue: leases are exclusive, failures back off, the last one is dead."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from api.events import record_event
from api.store.db import make_engine, migrate, session_factory
from api.store.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import deliveries
from api.webhooks.destinations import DestinationRefused, check

LEASE = dt.timedelta(seconds=60)
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def sessions(database_url: str):
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def queue(sessions, events: int = 1, events_wanted: list[str] | None = None) -> None:
    with sessions.begin() as session:
        session.add(
            WebhookEndpoint(
                id="we_" + "a" * 24,
                marketplace_id="mkt_1",
                url="http://127.0.0.1:9/hook",
                enabled_events=events_wanted or ["*"],
                status="enabled",
                secret_version=1,
                deleted=False,
            )
        )
        session.flush()
        for _ in range(events):
            record_event(session, "mkt_1", "charge.succeeded", {"id": "ch_1"})


def test_an_event_queues_a_delivery_only_for_subscribed_endpoints(sessions) -> None:
    queue(sessions, events_wanted=["refund.succeeded"])
    assert deliveries.claim_due(sessions, dt.datetime.now(dt.UTC), LEASE, 10) == []


def test_concurrent_workers_never_lease_the_same_delivery(sessions) -> None:
    queue(sessions, events=6)
    now = dt.datetime.now(dt.UTC)
    claimed: list[str] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        claimed.extend(deliveries.claim_due(sessions, now, LEASE, 10))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed)) == 6
    assert deliveries.claim_due(sessions, now, LEASE, 10) == []  # all leased
    assert len(deliveries.claim_due(sessions, now + LEASE * 2, LEASE, 10)) == 6  # lapsed


def test_failures_back_off_exponentially_then_the_delivery_is_dead(sessions) -> None:
    queue(sessions)
    policy = deliveries.RetryPolicy(
        max_attempts=4, base=dt.timedelta(seconds=10), cap=dt.timedelta(seconds=25)
    )
    now = dt.datetime.now(dt.UTC)
    (delivery_id,) = deliveries.claim_due(sessions, now, LEASE, 10)
    waits = []
    for _ in range(3):
        assert deliveries.settle(sessions, delivery_id, False, 500, "status 500", now, policy) == (
            "pending"
        )
        with sessions() as session:
            row = session.get_one(WebhookDelivery, delivery_id)
            due = row.next_attempt_at
        assert due is not None
        waits.append((due.replace(tzinfo=dt.UTC) - now).total_seconds())
    assert 10 <= waits[0] <= 11 and 20 <= waits[1] <= 22 and 25 <= waits[2] <= 27.5
    assert deliveries.settle(sessions, delivery_id, False, None, "ConnectError", now, policy) == (
        "dead"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/x", "http://10.0.0.1/x", "http://[::1]/x", "http://localhost/x"]
)
def test_private_destinations_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check(url, allow_private=False)
    check(url, allow_private=True)
