"""One contract, two backends: in-process and Redis counters behave the same."""

from collections.abc import Callable

import pytest
import redis

from fraud.counters import Counters, MemoryCounters, RedisCounters


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> Callable[[Clock], Counters]:
    if request.param == "memory":
        return lambda clock: MemoryCounters(clock)
    url, prefix = request.getfixturevalue("redis_target")
    return lambda clock: RedisCounters(redis.Redis.from_url(url), prefix, clock)


def test_hits_count_up_within_a_window(make: Callable[[Clock], Counters]) -> None:
    counters = make(Clock())
    assert [counters.hit("card", 60) for _ in range(3)] == [1, 2, 3]


def test_keys_are_counted_apart(make: Callable[[Clock], Counters]) -> None:
    counters = make(Clock())
    counters.hit("a", 60)
    assert counters.hit("b", 60) == 1


def test_a_new_window_starts_from_one(make: Callable[[Clock], Counters]) -> None:
    clock = Clock()
    counters = make(clock)
    counters.hit("card", 60)
    counters.hit("card", 60)
    clock.now += 60
    assert counters.hit("card", 60) == 1
