"""The admission gate: permits, a bounded queue, pacing, and slow refusals."""

from __future__ import annotations

import asyncio
import time

import pytest

from router.gate import Gate, Overloaded


def test_requests_past_the_permits_wait_and_past_the_queue_are_refused() -> None:
    async def scenario() -> list[str]:
        gate = Gate(max_in_flight=1, queue=1, queue_timeout=5.0)
        await gate.enter()  # holds the only permit
        waiting = asyncio.create_task(gate.enter())
        await asyncio.sleep(0.01)
        outcomes = []
        try:
            await gate.enter()
        except Overloaded:
            outcomes.append("refused")
        gate.leave()
        await waiting
        outcomes.append(f"in_flight={gate.in_flight}")
        return outcomes

    assert asyncio.run(scenario()) == ["refused", "in_flight=1"]


def test_a_wait_longer_than_the_queue_timeout_is_refused() -> None:
    async def scenario() -> None:
        gate = Gate(max_in_flight=1, queue=10, queue_timeout=0.05)
        await gate.enter()
        with pytest.raises(Overloaded):
            await gate.enter()
        assert gate.status()["refused"] == 1 and gate.waiting == 0

    asyncio.run(scenario())


def test_the_rate_is_paced_not_burst() -> None:
    async def scenario() -> float:
        gate = Gate(max_in_flight=100, queue=100, queue_timeout=5.0, max_rate=20)
        began = time.monotonic()

        async def one() -> None:
            await gate.enter()
            gate.leave()

        await asyncio.gather(*(one() for _ in range(11)))
        return time.monotonic() - began

    assert 0.45 <= asyncio.run(scenario()) < 1.5  # 11 requests at 20/s: 0.5 s


def test_a_refusal_is_answered_slowly_so_eager_retries_slow_down() -> None:
    async def scenario() -> float:
        gate = Gate(max_in_flight=1, queue=0, queue_timeout=1.0, refuse_after=0.2)
        await gate.enter()
        began = time.monotonic()
        with pytest.raises(Overloaded):
            await gate.enter()
        return time.monotonic() - began

    assert asyncio.run(scenario()) >= 0.2


def test_each_key_has_its_own_pace_within_the_stack_s() -> None:
    async def scenario() -> dict[str, float]:
        gate = Gate(max_in_flight=100, queue=100, queue_timeout=5.0, max_rate_per_key=10)
        began = time.monotonic()
        finished: dict[str, float] = {}

        async def one(key: str) -> None:
            await gate.enter(key)
            gate.leave()
            finished[key] = time.monotonic() - began

        await asyncio.gather(*(one("busy") for _ in range(6)), one("quiet"))
        return finished

    finished = asyncio.run(scenario())
    assert finished["quiet"] < 0.2  # not held behind the busy key
    assert finished["busy"] >= 0.45  # its sixth request at 10/s: 0.5 s


def test_a_key_past_its_pace_for_the_whole_queue_is_rate_limited_not_overloaded() -> None:
    from router.gate import RateLimited

    async def scenario() -> list[str]:
        gate = Gate(max_in_flight=100, queue=100, queue_timeout=0.3, max_rate_per_key=5)
        outcomes = []

        async def one(key: str) -> None:
            try:
                await gate.enter(key)
                gate.leave()
                outcomes.append("ok")
            except RateLimited:
                outcomes.append("429")

        await asyncio.gather(*(one("eager") for _ in range(4)), one("calm"))
        return outcomes

    assert sorted(asyncio.run(scenario())) == ["429", "429", "ok", "ok", "ok"]
