"""The charge path's statements on both stores: a move records its event and the
deliveries it owes at once, or nothing when another driver moved the charge first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from api.charges import store as rows
from api.events import record
from api.presenters import as_charge
from api.store.db import make_engine, migrate
from api.store.models import Charge, Event, WebhookDelivery, WebhookEndpoint, utcnow
from api.webhooks.deliveries import QUEUED


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def a_charge(charge_id: str = "ch_" + "a" * 24) -> Charge:
    now = utcnow()
    return Charge(
        id=charge_id,
        marketplace_id="mkt_1",
        card="card_" + "b" * 24,
        customer_id=None,
        amount=1500,
        currency="usd",
        description=None,
        metadata_={"order": "42"},
        status="pending",
        capture=True,
        amount_captured=0,
        amount_refunded=0,
        refund_reserved=0,
        fraud_reasons=[],
        created=now,
        recovery_point="assessed",
        recovery_at=now,
        revision=0,
    )


def endpoints(engine: Engine, *subscribed: tuple[str, list[str], str, bool]) -> None:
    with engine.begin() as connection:
        for endpoint_id, events, status, deleted in subscribed:
            connection.execute(
                WebhookEndpoint.__table__.insert(),  # type: ignore[attr-defined]
                {
                    "id": endpoint_id,
                    "marketplace_id": "mkt_1",
                    "url": "https://example.com/hook",
                    "enabled_events": events,
                    "status": status,
                    "secret_version": 1,
                    "deleted": deleted,
                    "created": utcnow(),
                },
            )


def settle(engine: Engine, charge: Charge, **changes: Any) -> bool:
    """The outcome as ChargeService.settle records it on this store."""
    if engine.dialect.name == "postgresql":
        with rows.statement(engine) as connection:
            shown = rows.move_recorded(
                connection, charge, "succeeded", lambda c: as_charge(c, False), **changes
            )
        return shown is not None
    with engine.begin() as connection:
        event = rows.move(connection, charge, "succeeded", **changes)
        if event is not None:
            record(connection, charge.marketplace_id, event, as_charge(charge, False).shown())
        return event is not None


def counts(engine: Engine) -> tuple[int, list[str]]:
    with engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(Event)).scalar_one()
        owed = connection.execute(
            select(WebhookDelivery.endpoint_id).order_by(WebhookDelivery.endpoint_id)
        ).scalars()
        return events, list(owed)


def test_a_stored_charge_reads_back_as_it_was_stored(engine: Engine) -> None:
    charge = a_charge()
    with rows.statement(engine) as connection:
        rows.store(connection, charge)
        loaded = rows.load(connection, charge.id)
    assert loaded is not None
    assert as_charge(loaded, False) == as_charge(charge, False)
    assert loaded.recovery is None and loaded.fraud_rule is None


def test_a_move_records_its_event_and_a_delivery_per_subscribed_endpoint(engine: Engine) -> None:
    endpoints(
        engine,
        ("we_" + "1" * 24, ["*"], "enabled", False),
        ("we_" + "2" * 24, ["charge.succeeded"], "enabled", False),
        ("we_" + "3" * 24, ["refund.succeeded"], "enabled", False),
        ("we_" + "4" * 24, ["*"], "disabled", False),
        ("we_" + "5" * 24, ["*"], "enabled", True),
    )
    charge = a_charge()
    with rows.statement(engine) as connection:
        rows.store(connection, charge)
    queued = QUEUED.count
    assert settle(engine, charge, amount_captured=1500, authorization_code="123456")
    assert QUEUED.count == queued + 2
    assert counts(engine) == (1, ["we_" + "1" * 24, "we_" + "2" * 24])
    with rows.statement(engine) as connection:
        stored = rows.load(connection, charge.id)
    assert stored is not None
    assert (stored.status, stored.revision, stored.recovery_point) == ("succeeded", 1, "recorded")
    assert stored.amount_captured == 1500
    with engine.connect() as connection:
        data = connection.execute(select(Event.data)).scalar_one()
    assert data["object"]["id"] == charge.id and data["object"]["status"] == "succeeded"


def test_a_move_that_lost_the_race_writes_nothing_and_leaves_the_charge_as_it_was(
    engine: Engine,
) -> None:
    endpoints(engine, ("we_" + "1" * 24, ["*"], "enabled", False))
    charge = a_charge()
    with rows.statement(engine) as connection:
        rows.store(connection, charge)
        stale = rows.load(connection, charge.id)
    assert stale is not None
    assert settle(engine, charge, amount_captured=1500)
    assert not settle(engine, stale, amount_captured=1500)  # the same revision, moved since
    assert (stale.status, stale.revision) == ("pending", 0)
    assert counts(engine) == (1, ["we_" + "1" * 24])
