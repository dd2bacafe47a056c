import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from starlette.testclient import TestClient

from fraud.app import create_app
from fraud.store.models import Decision, Rule, RulesetState
from fraud.velocity.memory import MemoryVelocity
from fraud.velocity.redis_store import RedisVelocity
from tests.fraud.conftest import TEST, assessment, fraud_settings, services_of


def assess(client: TestClient, charge: str, **more: object) -> dict:  # type: ignore[type-arg]
    body = {**assessment(charge=charge), **more}
    response = client.post("/v1/assessments", json=body, headers=TEST)
    assert response.status_code == 200, response.text
    answer: dict = response.json()  # type: ignore[type-arg]
    return answer


@pytest.fixture(params=["memory", "redis"])
def velocity_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    if request.param == "memory":
        store = MemoryVelocity()
    else:
        url, prefix = request.getfixturevalue("redis_target")
        store = RedisVelocity(redis.Redis.from_url(url), prefix)  # type: ignore[assignment]
    with TestClient(create_app(fraud_settings(tmp_path), store)) as client:
        yield client


def test_the_fifth_charge_on_a_card_is_blocked_and_a_retry_counts_once(
    velocity_client: TestClient,
) -> None:
    client = velocity_client
    rule = client.post(
        "/v1/fraud/rules", json={"predicate": "block if :card_velocity_1h: > 3"}, headers=TEST
    ).json()
    decisions = [assess(client, f"ch_velocity{i:04d}")["decision"] for i in range(4)]
    assert decisions == ["allow"] * 4
    assert assess(client, "ch_velocity0003")["decision"] == "allow"  # a retry of the 4th
    fifth = assess(client, "ch_velocity0004")
    assert (fifth["decision"], fifth["rule"]["id"]) == ("block", rule["id"])
    assert assess(client, "ch_velocity0004")["decision"] == "block"  # its retry: same answer


def test_every_assessment_is_recorded_with_rule_results_and_values(tmp_path: Path) -> None:
    app = create_app(fraud_settings(tmp_path), MemoryVelocity())
    with TestClient(app) as client:
        for predicate in ("review if :amount: >= 500", "block if :email: = 'x@y.test'"):
            client.post("/v1/fraud/rules", json={"predicate": predicate}, headers=TEST)
        assess(client, "ch_recorded01", customer="cus_abcdefgh", metadata={"ip": "10.1.2.3"})
        services_of(client).assessor.decisions.flush()
        with services_of(client).sessions() as session:
            row = session.scalars(select(Decision)).one()
        assert (row.charge_id, row.scope, row.ruleset, row.ruleset_version) == (
            "ch_recorded01",
            "test:mkt_abcdefgh",
            "live",
            2,
        )
        assert (row.decision, row.score) == ("review", 0)
        assert [r["matched"] for r in row.results] == [True, None]
        assert row.attributes["ip_prefix"] == "10.1.2.0/24"
        assert row.attributes["is_new_customer"] is True
        assert row.attributes["card_country"] == "US"
        assert "email" not in row.attributes  # missing values are not recorded as null


def test_redis_unreachable_refuses_the_assessment(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fraud_settings(
        tmp_path, counters_url="redis://127.0.0.1:1/0", counters_timeout_seconds=0.2
    )
    app = create_app(settings)
    with TestClient(app) as client:
        with caplog.at_level(logging.ERROR, logger="fraud"):
            response = client.post("/v1/assessments", json=assessment(), headers=TEST)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "fraud_unavailable"
        assert "cause=velocity" in caplog.text
        metric = app.state.metrics.unavailable.labels("velocity")._value.get()
        assert metric == 1


def test_a_rule_that_errors_refuses_the_assessment(tmp_path: Path) -> None:
    app = create_app(fraud_settings(tmp_path), MemoryVelocity())
    with TestClient(app) as client:
        rule = {"predicate": "block if :amount: > 1000000000"}
        client.post("/v1/fraud/rules", json=rule, headers=TEST)
        # A rule naming a list that is gone (written behind the API's back): it cannot be
        # evaluated, so nothing passes.
        with services_of(client).sessions.begin() as session:
            session.add(
                Rule(
                    id="rule_brokenbroken",
                    scope="test:mkt_abcdefgh",
                    action="allow",
                    predicate="allow if :email: in @vanished",
                    enabled=True,
                    deleted=False,
                )
            )
            session.get_one(RulesetState, "test:mkt_abcdefgh").version += 1
        response = client.post("/v1/assessments", json=assessment(email="a@b.test"), headers=TEST)
        assert (response.status_code, response.json()["error"]["code"]) == (
            503,
            "fraud_unavailable",
        )
        assert app.state.metrics.unavailable.labels("rule")._value.get() == 1


def test_decisions_that_cannot_be_recorded_refuse_assessments_once_the_queue_is_full(
    tmp_path: Path,
) -> None:
    from fraud.store.db import make_engine, session_factory
    from fraud.store.decisions import DecisionLog

    app = create_app(fraud_settings(tmp_path), MemoryVelocity())
    with TestClient(app) as client:
        # A store with no tables: every insert fails, the writer keeps the rows and retries.
        broken = DecisionLog(
            session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}")), capacity=2
        )
        assessor = services_of(client).assessor
        recording, assessor.decisions = assessor.decisions, broken
        answers = [
            client.post(
                "/v1/assessments", json=assessment(charge=f"ch_backlog{i:04d}"), headers=TEST
            )
            for i in range(6)
        ]
        assert answers[0].status_code == 200
        assert answers[-1].status_code == 503
        assert answers[-1].json()["error"]["code"] == "fraud_unavailable"
        assert app.state.metrics.unavailable.labels("store")._value.get() >= 1
        broken.close(timeout=0)
        assessor.decisions = recording  # closed by the lifespan, as it ends
