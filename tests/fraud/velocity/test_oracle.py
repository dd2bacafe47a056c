"""Both stores against a brute-force oracle: the history of sightings, recounted each time.

The oracle counts by the order charges were first seen in: each sighting's clock may run
behind or ahead of the others' (assessments in flight at once, fraud processes whose
clocks disagree). A first sighting counts the charges of its subjects seen before it whose
clock is within the window ending at its own clock or later, and the blocks recorded
before it likewise; each charge keeps its own clock; a retry answers as the first did."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud.velocity import WINDOWS_MS, Observation, VelocityStore, attribute_names
from fraud.velocity.memory import MemoryVelocity
from fraud.velocity.redis_store import RedisVelocity

T0 = 1_800_000_000_000
SPAN = 6 * 86_400_000  # under a week, so trimming never changes an answer
SCOPE = "test:mkt_1"


@dataclass(frozen=True)
class Charge:
    id: str
    amount: int
    subjects: dict[str, str]


charges = st.lists(
    st.builds(
        lambda amount, card, customer, ip: Charge(
            "", amount, {k: v for k, v in (("card", card), ("customer", customer), ("ip", ip)) if v}
        ),
        st.integers(1, 10**6),
        st.sampled_from(["fp1", "fp2", "fp3"]),
        st.sampled_from([None, "cus_1", "cus_2"]),
        st.sampled_from([None, "ip1", "ip2"]),
    ),
    min_size=1,
    max_size=6,
).map(lambda cs: [Charge(f"ch_{i}", c.amount, c.subjects) for i, c in enumerate(cs)])

steps = st.lists(
    st.tuples(
        st.integers(0, 5),  # which charge (a charge seen again is a retry)
        st.sampled_from([0, 1, 60_000, 1_800_000, 3_600_000, 3_600_001, 23 * 3_600_000]),
        # this sighting's clock against the others': in step, behind (its script reached
        # Redis after a later clock's), or ahead (another fraud process's clock)
        st.sampled_from([0, 0, 0, -1, -2, -60_000, -3_600_000, 1, 5_000]),
        st.booleans(),  # blocked after its assessment
    ),
    min_size=1,
    max_size=25,
)


class Oracle:
    def __init__(self) -> None:
        # In the order first seen (a dict keeps it): clock, amount, charge, answer.
        self.first: dict[str, tuple[int, int, Charge, dict[str, int]]] = {}
        self.blocks: dict[str, tuple[str, int]] = {}

    def observe(self, charge: Charge, clock: int) -> dict[str, int]:
        if charge.id in self.first:
            return self.first[charge.id][3]
        present = [s for s in ("card", "customer", "email", "ip") if s in charge.subjects]
        at, values = clock, list[int]()
        for subject in present:
            earlier = [
                (t, a)
                for t, a, c, _ in self.first.values()
                if c.subjects.get(subject) == charge.subjects[subject]
            ]
            for window in WINDOWS_MS.values():
                values.append(sum(1 for t, _ in earlier if t > at - window))
            for window in WINDOWS_MS.values():
                values.append(sum(a for t, a in earlier if t > at - window))
        for subject in present:
            if subject != "card":
                cards = {
                    c.subjects["card"]
                    for _, _, c, _ in self.first.values()
                    if c.subjects.get(subject) == charge.subjects[subject]
                }
                values.append(len(cards | {charge.subjects["card"]}))
        card = charge.subjects["card"]
        for window in (WINDOWS_MS["1h"], WINDOWS_MS["24h"]):
            values.append(sum(1 for c, t in self.blocks.values() if c == card and t > at - window))
        answer = dict(zip(attribute_names(present), values, strict=True))
        self.first[charge.id] = (at, charge.amount, charge, answer)
        return answer

    def record_block(self, charge: str, card: str, at: int) -> None:
        self.blocks.setdefault(charge, (card, at))  # a charge blocked again counts once


def replay(
    store: VelocityStore, pool: list[Charge], plan: list[tuple[int, int, int, bool]]
) -> None:
    oracle, now = Oracle(), T0
    for index, advance, skew, blocked in plan:
        charge = pool[index % len(pool)]
        now = min(now + advance, T0 + SPAN)
        clock = now + skew
        expected = oracle.observe(charge, clock)
        got = store.observe(Observation(SCOPE, charge.id, clock, charge.amount, charge.subjects))
        assert got == expected, (charge.id, clock - T0)
        if blocked:  # at the assessment's own clock, as the assessor records it
            oracle.record_block(charge.id, charge.subjects["card"], clock)
            store.record_block(SCOPE, charge.subjects["card"], charge.id, clock)


@given(charges, steps)
def test_memory_velocity_agrees_with_the_oracle(pool, plan) -> None:
    replay(MemoryVelocity(), pool, plan)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(charges, steps)
def test_redis_velocity_agrees_with_the_oracle(redis_target, pool, plan) -> None:
    url, prefix = redis_target
    store = RedisVelocity(redis.Redis.from_url(url), f"{prefix}{secrets.token_hex(4)}:")
    replay(store, pool, plan)
