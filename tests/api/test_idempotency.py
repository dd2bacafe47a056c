"""Idempotency records on both stores: SQLite and PostgreSQL."""

import datetime as dt
import threading

import pytest
from sqlalchemy import update

from api import idempotency
from api.store.db import make_engine, migrate, session_factory
from api.store.models import IdempotencyRecord
from strongroom.web import ServiceError


@pytest.fixture
def sessions(database_url: str):
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def test_first_use_claims_then_replays_the_stored_response(sessions) -> None:
    assert idempotency.begin(sessions, "mkt_1", "k1", "h") is None
    idempotency.finish(sessions, "mkt_1", "k1", idempotency.Stored(201, {"id": "ch_1"}))
    assert idempotency.begin(sessions, "mkt_1", "k1", "h") == idempotency.Stored(
        201, {"id": "ch_1"}
    )


def test_same_key_other_parameters_is_409(sessions) -> None:
    idempotency.begin(sessions, "mkt_1", "k1", "h")
    idempotency.finish(sessions, "mkt_1", "k1", idempotency.Stored(201, {}))
    with pytest.raises(ServiceError) as caught:
        idempotency.begin(sessions, "mkt_1", "k1", "other")
    assert (caught.value.status_code, caught.value.code) == (409, "idempotency_key_reused")


def test_same_key_while_in_flight_is_409(sessions) -> None:
    idempotency.begin(sessions, "mkt_1", "k1", "h")
    with pytest.raises(ServiceError) as caught:
        idempotency.begin(sessions, "mkt_1", "k1", "h")
    assert caught.value.code == "idempotency_key_in_flight"


def test_keys_are_per_marketplace(sessions) -> None:
    assert idempotency.begin(sessions, "mkt_1", "k1", "h") is None
    assert idempotency.begin(sessions, "mkt_2", "k1", "h") is None


def test_a_key_older_than_24_hours_is_forgotten(sessions) -> None:
    idempotency.begin(sessions, "mkt_1", "k1", "h")
    idempotency.finish(sessions, "mkt_1", "k1", idempotency.Stored(201, {}))
    with sessions.begin() as session:
        session.execute(
            update(IdempotencyRecord).values(
                created=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
            )
        )
    assert idempotency.begin(sessions, "mkt_1", "k1", "different") is None


def test_concurrent_first_uses_claim_the_key_exactly_once(sessions) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        try:
            outcomes.append(
                "claimed"
                if idempotency.begin(sessions, "mkt_1", "race", "h") is None
                else "replayed"
            )
        except ServiceError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["claimed"] + ["idempotency_key_in_flight"] * 7


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "a\nb"])
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(ServiceError):
        idempotency.check_key(key)
