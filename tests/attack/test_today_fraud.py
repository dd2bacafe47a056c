"""Fraud's assessment on the event loop (redis.asyncio) under attack: many assessments of
one card at once, and a Redis of its own that the tests stop (SIGSTOP: slow), resume and
kill. Every charge must be screened or refused; velocity must count each charge once, and
a timed-out command must not leave an answer behind for the next assessment to read."""

from __future__ import annotations

import json
import secrets
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis

from fraud.velocity import digest
from strongroom.supervisor import free_ports
from tests.attack.conftest import CARD
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

MARKETPLACE = "mkt_attackvelocity01"


@dataclass
class Guarded:
    stack: Stack
    redis: subprocess.Popen[bytes]
    redis_port: int

    @property
    def fraud(self) -> str:
        return f"http://127.0.0.1:{self.stack.opts.ports.fraud}/v1/assessments"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    (port,) = free_ports(1)
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                redis.Redis(port=port).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        stacks = start_stack(
            tmp_path_factory.mktemp("guarded"),
            router_test_rate_per_key=0,
            router_test_rate=0,
            fraud_counters_url=f"redis://127.0.0.1:{port}/0",
        )
        guarded = Guarded(next(stacks), server, port)
        try:
            yield guarded
        finally:
            next(stacks, None)
            server = guarded.redis  # a test may have started another in its place
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGCONT)
            server.terminate()
            server.wait(10)


def assessment(fingerprint: str, charge_id: str | None = None) -> dict[str, Any]:
    return {
        "charge_id": charge_id or "ch_" + secrets.token_hex(8),
        "marketplace": MARKETPLACE,
        "amount": 1000,
        "currency": "usd",
        "card": {
            "id": "card_" + fingerprint[:16],
            "brand": "visa",
            "bin": "424242",
            "last4": "4242",
            "fingerprint": fingerprint,
        },
    }


def assess(guarded: Guarded, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        guarded.fraud,
        json=body,
        headers={"authorization": f"Bearer {guarded.stack.secrets.fraud_test_credential}"},
        timeout=30,
    )


def counted(guarded: Guarded, fingerprint: str) -> int:
    key = f"strongroom:fraud:test:{MARKETPLACE}:card:{digest(fingerprint)}"
    return int(redis.Redis(port=guarded.redis_port).zcard(key))


def velocities(guarded: Guarded, charge_ids: set[str]) -> dict[str, int]:
    """card_velocity_1h of each charge's recorded decision, once the writer has them all."""
    path = guarded.stack.opts.data_dir / "fraud" / "fraud.db"
    for _ in range(200):
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT charge_id, attributes FROM decisions").fetchall()
        found = {c: json.loads(a)["card_velocity_1h"] for c, a in rows if c in charge_ids}
        if len(found) == len(charge_ids):
            return found
        time.sleep(0.1)
    raise AssertionError(f"decisions recorded: {len(found)} of {len(charge_ids)}")


def burst(guarded: Guarded, size: int = 48) -> tuple[int, list[int]]:
    """`size` assessments of one new card at once: its set's size, and the velocity each
    assessment saw."""
    fingerprint = secrets.token_hex(16)
    bodies = [assessment(fingerprint) for _ in range(size)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda b: assess(guarded, b), bodies))
    assert [a.status_code for a in answers] == [200] * size
    seen = velocities(guarded, {b["charge_id"] for b in bodies})
    return counted(guarded, fingerprint), sorted(seen.values())


def test_concurrent_assessments_of_one_card_are_all_stored(guarded: Guarded) -> None:
    assert burst(guarded)[0] == 48


def test_concurrent_assessments_of_one_card_each_see_a_distinct_velocity(
    guarded: Guarded,
) -> None:
    # Each counts those seen strictly before it: 0 to 47, each once; none lost, none twice.
    # Several bursts: the scripts must arrive out of order once for the count to slip.
    for _ in range(10):
        assert burst(guarded)[1] == list(range(48))


def test_one_charge_assessed_many_times_at_once_counts_once(guarded: Guarded) -> None:
    fingerprint = secrets.token_hex(16)
    before = assessment(fingerprint)
    assert assess(guarded, before).status_code == 200
    retried = assessment(fingerprint)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: assess(guarded, retried), range(24)))
    assert {a.status_code for a in answers} == {200}
    assert counted(guarded, fingerprint) == 2


def charge(guarded: Guarded) -> dict[str, Any]:
    keys = guarded.stack.keys
    with guarded.stack.client(keys.pk_test) as browser:
        made = browser.post("/v1/cards", json=CARD)
    assert made.status_code == 201, made.text
    with guarded.stack.client(keys.sk_test) as server:
        answer = server.post(
            "/v1/charges", json={"card": made.json()["id"], "amount": 1000, "currency": "usd"}
        )
    body: dict[str, Any] = answer.json()
    return body.get("error") or body


def test_a_stalled_redis_refuses_every_charge_and_then_counts_exactly(guarded: Guarded) -> None:
    assert charge(guarded)["status"] == "succeeded"
    executed = len(guarded.stack.network_messages())
    fingerprint = secrets.token_hex(16)
    stalled = [assessment(fingerprint) for _ in range(6)]
    guarded.redis.send_signal(signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda b: assess(guarded, b), stalled))
        assert [a.status_code for a in answers] == [503] * 6
        assert {a.json()["error"]["code"] for a in answers} == {"fraud_unavailable"}
        refused = charge(guarded)
        assert refused.get("status") != "succeeded", refused
    finally:
        guarded.redis.send_signal(signal.SIGCONT)
    assert len(guarded.stack.network_messages()) == executed
    # The stalled scripts ran once Redis resumed (their answers were never read): six in
    # the card's set. What follows must read its own answers, not theirs.
    fresh = secrets.token_hex(16)
    after = [assessment(fresh) for _ in range(5)]
    for body in after:
        assert assess(guarded, body).status_code == 200
    seen = velocities(guarded, {b["charge_id"] for b in after})
    assert [seen[b["charge_id"]] for b in after] == [0, 1, 2, 3, 4]
    assert counted(guarded, fresh) == 5


def test_a_dead_redis_mid_traffic_lets_no_charge_through_unscreened(guarded: Guarded) -> None:
    executed = len(guarded.stack.network_messages())
    fingerprint = secrets.token_hex(16)
    with ThreadPoolExecutor(8) as pool:
        running = [pool.submit(assess, guarded, assessment(fingerprint)) for _ in range(64)]
        guarded.redis.kill()
        guarded.redis.wait(10)
        answers = [f.result() for f in running]
    # Before the kill, screened; after it, refused: never anything else.
    assert {a.status_code for a in answers} <= {200, 503}
    for answer in answers:
        if answer.status_code == 503:
            assert answer.json()["error"]["code"] == "fraud_unavailable"
    after = [assess(guarded, assessment(fingerprint)) for _ in range(4)]
    assert [a.status_code for a in after] == [503] * 4
    for _ in range(3):
        refused = charge(guarded)
        assert refused.get("status") != "succeeded", refused
    assert len(guarded.stack.network_messages()) == executed


def test_a_restarted_redis_without_the_script_cached_screens_again(guarded: Guarded) -> None:
    """After the kill above: a new, empty Redis on the same port (no script cached, so the
    first EVALSHA is refused with NOSCRIPT): assessments are screened again, each counted."""
    if guarded.redis.poll() is None:
        guarded.redis.kill()
        guarded.redis.wait(10)
    guarded.redis = subprocess.Popen(
        ["redis-server", "--port", str(guarded.redis_port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            redis.Redis(port=guarded.redis_port).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    fingerprint = secrets.token_hex(16)
    bodies = [assessment(fingerprint) for _ in range(4)]
    # The pool's connections to the dead server fail once each; then every one is screened.
    answers = [assess(guarded, b).status_code for b in bodies]
    assert set(answers) <= {200, 503}, answers
    again = [assessment(fingerprint) for _ in range(3)]
    assert [assess(guarded, b).status_code for b in again] == [200] * 3
    assert counted(guarded, fingerprint) == answers.count(200) + 3
