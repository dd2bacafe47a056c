"""Idempotency records on both stores: SQLite and PostgreSQL."""

import datetime as dt
import threading

import pytest
from sqlalchemy import update

from api import idempotency
from api.idempotency import Claim, Stored, stored_key
from api.store.db import make_engine, migrate, session_factory
from api.store.models import IdempotencyRecord
from servicekit import ServiceError


@pytest.fixture
def sessions(database_url: str):
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def claim(sessions, key: str = "k1", digest: str = "h", marketplace: str = "mkt_1") -> Claim:
    begun = idempotency.begin(sessions, marketplace, key, digest)
    assert isinstance(begun, Claim)
    return begun


def test_first_use_claims_then_replays_the_stored_response(sessions) -> None:
    first = claim(sessions)
    idempotency.finish(sessions, first, Stored(201, {"id": "ch_1"}))
    assert idempotency.begin(sessions, "mkt_1", "k1", "h") == Stored(201, {"id": "ch_1"})


def test_a_stored_server_error_is_replayed_too(sessions) -> None:
    idempotency.finish(sessions, claim(sessions), Stored(500, {"error": {"code": "x"}}))
    assert idempotency.begin(sessions, "mkt_1", "k1", "h") == Stored(500, {"error": {"code": "x"}})


def test_a_released_key_is_taken_over_once_with_the_same_seed(sessions) -> None:
    first = claim(sessions)
    idempotency.release(sessions, first)
    again = idempotency.begin(sessions, "mkt_1", "k1", "h")
    assert again == first  # the same record, so the same seed: the same charge id
    with pytest.raises(ServiceError) as info:  # the retry holds it now
        idempotency.begin(sessions, "mkt_1", "k1", "h")
    assert info.value.code == "idempotency_key_in_flight"


def test_same_key_other_parameters_is_an_idempotency_error(sessions) -> None:
    idempotency.finish(sessions, claim(sessions), Stored(201, {}))
    with pytest.raises(ServiceError) as caught:
        idempotency.begin(sessions, "mkt_1", "k1", "other")
    assert (caught.value.status_code, caught.value.code) == (400, "idempotency_key_reused")
    assert caught.value.type == "idempotency_error"  # what Stripe's SDKs raise, not retry


def test_same_key_while_in_flight_is_409(sessions) -> None:
    claim(sessions)
    with pytest.raises(ServiceError) as caught:
        idempotency.begin(sessions, "mkt_1", "k1", "h")
    assert (caught.value.status_code, caught.value.code) == (409, "idempotency_key_in_flight")


def test_keys_are_per_marketplace(sessions) -> None:
    assert claim(sessions, marketplace="mkt_1").seed != claim(sessions, marketplace="mkt_2").seed


def test_a_key_older_than_24_hours_is_forgotten_and_a_new_use_gets_a_new_seed(sessions) -> None:
    first = claim(sessions)
    idempotency.finish(sessions, first, Stored(201, {}))
    with sessions.begin() as session:
        session.execute(
            update(IdempotencyRecord).values(
                created=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
            )
        )
    second = claim(sessions, digest="different")
    assert second.seed != first.seed  # so a recycled key never names the old charge
    assert second.first_use  # nothing was made under the new seed


def test_only_a_first_use_is_told_that_nothing_was_made_under_its_seed(sessions) -> None:
    first = claim(sessions)
    assert first.first_use
    idempotency.release(sessions, first)
    again = idempotency.begin(sessions, "mkt_1", "k1", "h")
    assert isinstance(again, Claim) and not again.first_use  # the first may have made some
    later = dt.datetime.now(dt.UTC) + idempotency.LOCK_TIMEOUT + dt.timedelta(seconds=1)
    taken = idempotency.begin(sessions, "mkt_1", "k1", "h", now=later)
    assert isinstance(taken, Claim) and not taken.first_use


def test_purge_forgets_every_expired_key(sessions) -> None:
    claim(sessions, "old")
    claim(sessions, "new")
    with sessions.begin() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == stored_key("old"))
            .values(created=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
        )
    assert idempotency.purge_expired(sessions) == 1


def test_a_claim_whose_request_died_is_taken_over_with_the_same_seed(sessions) -> None:
    first = claim(sessions)
    later = dt.datetime.now(dt.UTC) + idempotency.LOCK_TIMEOUT + dt.timedelta(seconds=1)
    taken = idempotency.begin(sessions, "mkt_1", "k1", "h", now=later)
    assert taken == first  # same record, same seed: the retry resumes the same objects
    with pytest.raises(ServiceError):  # and only one retry takes it over
        idempotency.begin(sessions, "mkt_1", "k1", "h", now=later)


def test_concurrent_first_uses_claim_the_key_exactly_once(sessions) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        try:
            begun = idempotency.begin(sessions, "mkt_1", "race", "h")
            outcomes.append("claimed" if isinstance(begun, Claim) else "replayed")
        except ServiceError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["claimed"] + ["idempotency_key_in_flight"] * 7


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ", "a\nb"])
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(ServiceError):
        idempotency.check_key(key)


def test_a_claim_of_a_live_process_is_in_flight_and_of_a_dead_one_is_taken_over(
    sessions,
) -> None:
    from api.store import leases

    ttl = dt.timedelta(seconds=5)
    leases.renew(sessions, "proc-a", ttl)
    first = idempotency.begin(sessions, "mkt_1", "k1", "h", owner="proc-a")
    assert isinstance(first, Claim)
    with pytest.raises(ServiceError) as in_flight:  # proc-a lives: its request runs
        idempotency.begin(sessions, "mkt_1", "k1", "h", owner="proc-b")
    assert in_flight.value.code == "idempotency_key_in_flight"
    # proc-a died: its lease lapses, long before the lock would time out.
    lapsed = dt.datetime.now(dt.UTC) + ttl + dt.timedelta(seconds=1)
    leases.renew(sessions, "proc-b", ttl, now=lapsed)
    taken = idempotency.begin(sessions, "mkt_1", "k1", "h", now=lapsed, owner="proc-b")
    assert taken == first  # the same seed: the same charge id
    with pytest.raises(ServiceError):  # taken over once: proc-b lives
        idempotency.begin(sessions, "mkt_1", "k1", "h", now=lapsed, owner="proc-c")


def test_a_request_whose_claim_was_taken_over_keeps_nothing(sessions) -> None:
    from api.store import leases

    first = idempotency.begin(sessions, "mkt_1", "k1", "h", owner="gone")  # no lease at all
    assert isinstance(first, Claim)
    leases.renew(sessions, "proc-b", dt.timedelta(seconds=30))
    taken = idempotency.begin(sessions, "mkt_1", "k1", "h", owner="proc-b")
    assert isinstance(taken, Claim)
    idempotency.finish(sessions, first, Stored(500, {"error": {"code": "late"}}))
    idempotency.finish(sessions, taken, Stored(201, {"id": "ch_1"}))
    assert idempotency.begin(sessions, "mkt_1", "k1", "h") == Stored(201, {"id": "ch_1"})


def test_only_outcomes_are_kept_under_a_key() -> None:
    assert idempotency.kept(Stored(201, {"id": "ch_1"}))
    assert idempotency.kept(Stored(402, {"error": {"code": "card_declined"}}))
    assert idempotency.kept(Stored(409, {"error": {"code": "charge_already_captured"}}))
    assert not idempotency.kept(Stored(502, {"error": {"code": "charge_pending"}}))
    assert not idempotency.kept(Stored(409, {"error": {"code": "charge_in_progress"}}))
