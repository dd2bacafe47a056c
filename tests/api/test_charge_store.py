"""The charge path's statements on both stores: a move records its event and the
deliveries it owes at once, or nothing when another driver moved the charge first; under
an Idempotency-Key, the key's answer with them, while the request still holds the key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from api import idempotency
from api.charges import store as rows
from api.charges.service import ChargeService
from api.clients.fraud import FraudClient
from api.clients.vault import VaultClient
from api.events import record
from api.presenters import as_charge
from api.store.db import make_engine, migrate, session_factory, statement
from api.store.models import Charge, Event, WebhookDelivery, WebhookEndpoint, utcnow
from api.webhooks.deliveries import QUEUED
from servicekit import ServiceError


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
        with statement(engine) as connection:
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
    with statement(engine) as connection:
        rows.store(connection, charge)
        loaded = rows.load(connection, charge.id)
    assert loaded is not None
    assert as_charge(loaded, False) == as_charge(charge, False)
    assert loaded.recovery is None and loaded.fraud_rule is None


def a_stored_charge(engine: Engine) -> Charge:
    """A new charge, stored as the charge path stores it."""
    charge = a_charge()
    with statement(engine) as connection:
        rows.store(connection, charge)
    return charge


def test_a_move_records_its_event_and_a_delivery_per_subscribed_endpoint(engine: Engine) -> None:
    endpoints(
        engine,
        ("we_" + "1" * 24, ["*"], "enabled", False),
        ("we_" + "2" * 24, ["charge.succeeded"], "enabled", False),
        ("we_" + "3" * 24, ["refund.succeeded"], "enabled", False),
        ("we_" + "4" * 24, ["*"], "disabled", False),
        ("we_" + "5" * 24, ["*"], "enabled", True),
    )
    charge = a_stored_charge(engine)
    queued = QUEUED.count
    assert settle(engine, charge, amount_captured=1500, authorization_code="123456")
    assert QUEUED.count == queued + 2
    assert counts(engine) == (1, ["we_" + "1" * 24, "we_" + "2" * 24])
    with statement(engine) as connection:
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
    with statement(engine) as connection:
        rows.store(connection, charge)
        stale = rows.load(connection, charge.id)
    assert stale is not None
    assert settle(engine, charge, amount_captured=1500)
    assert not settle(engine, stale, amount_captured=1500)  # the same revision, moved since
    assert (stale.status, stale.revision) == ("pending", 0)
    assert counts(engine) == (1, ["we_" + "1" * 24])


# --- a key's finish carried by the outcome (api.idempotency.Carried) ----------------------


def a_service(engine: Engine) -> ChargeService:
    """The charge service over `engine`; its clients are never called by `settle`."""
    vault = VaultClient("http://127.0.0.1:9", "unused", 1.0)
    fraud = FraudClient("http://127.0.0.1:9", "unused", 1.0)
    return ChargeService(session_factory(engine), vault, fraud, False, b"secret")


def carried_settle(engine: Engine, charge: Charge, carried: idempotency.Carried) -> dict[str, Any]:
    """ChargeService.settle as create_charge runs it under a key: the key's finish carried."""
    carried.answer = lambda body: idempotency.Stored(201, body)
    with idempotency.carrying(carried):
        return a_service(engine).settle(charge, "succeeded", amount_captured=1500).shown()


def test_an_outcome_keeps_its_keys_answer_in_the_same_write(engine: Engine) -> None:
    sessions = session_factory(engine)
    claim = idempotency.begin(sessions, "mkt_1", "key-1", "digest")
    assert isinstance(claim, idempotency.Claim)
    charge = a_stored_charge(engine)
    carried = idempotency.Carried(claim)
    shown = carried_settle(engine, charge, carried)
    assert shown["status"] == "succeeded"
    assert carried.kept == idempotency.Stored(201, shown)
    # A retry with the key is answered what was kept, with no finish of its own.
    assert idempotency.begin(sessions, "mkt_1", "key-1", "digest") == carried.kept
    assert counts(engine)[0] == 1


def test_an_outcome_another_recorded_first_keeps_nothing_under_the_key(engine: Engine) -> None:
    sessions = session_factory(engine)
    claim = idempotency.begin(sessions, "mkt_1", "key-1", "digest")
    assert isinstance(claim, idempotency.Claim)
    charge = a_charge()
    with statement(engine) as connection:
        rows.store(connection, charge)
        stale = rows.load(connection, charge.id)
    assert stale is not None
    assert settle(engine, charge, amount_captured=1500)  # the completer, say
    carried = idempotency.Carried(claim)
    assert carried_settle(engine, stale, carried)["status"] == "succeeded"  # as it is now
    assert carried.kept is None
    with pytest.raises(ServiceError) as refused:  # still held: the request finishes it
        idempotency.begin(sessions, "mkt_1", "key-1", "digest")
    assert refused.value.code == "idempotency_key_in_flight"
    assert counts(engine)[0] == 1


def test_an_outcome_keeps_nothing_under_a_key_another_request_took_over(engine: Engine) -> None:
    sessions = session_factory(engine)
    now = utcnow()
    claim = idempotency.begin(sessions, "mkt_1", "key-1", "digest", now=now)
    later = now + idempotency.LOCK_TIMEOUT + dt.timedelta(seconds=1)
    taken = idempotency.begin(sessions, "mkt_1", "key-1", "digest", now=later)
    assert isinstance(claim, idempotency.Claim) and isinstance(taken, idempotency.Claim)
    charge = a_stored_charge(engine)
    carried = idempotency.Carried(claim)
    assert carried_settle(engine, charge, carried)["status"] == "succeeded"
    assert carried.kept is None  # the charge is recorded; the key is the retry's to finish
    idempotency.finish(sessions, taken, idempotency.Stored(201, {"id": charge.id}))
    assert idempotency.begin(sessions, "mkt_1", "key-1", "digest") == idempotency.Stored(
        201, {"id": charge.id}
    )
