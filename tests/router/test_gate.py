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
