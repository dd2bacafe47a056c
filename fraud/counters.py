"""Fixed-window event counters: in-process for dev, Redis when processes share them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis


class Counters(Protocol):
    def hit(self, key: str, window_seconds: int) -> int:
        """Count one event under `key` and return the count in the current window."""
        ...


class MemoryCounters:
    """Counters of one process; windows are dropped once they have passed."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def hit(self, key: str, window_seconds: int) -> int:
        window = int(self._clock()) // window_seconds
        with self._lock:
            for stale in [k for k in self._counts if k[1] < window and k[0] == key]:
                del self._counts[stale]
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            return count


class RedisCounters:
    """Counters shared by every fraud process through one Redis."""

    def __init__(
        self, client: redis.Redis, prefix: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._clock = clock

    def hit(self, key: str, window_seconds: int) -> int:
        window = int(self._clock()) // window_seconds
        name = f"{self._prefix}{key}:{window}"
        pipe = self._client.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, window_seconds * 2)
        count, _ = pipe.execute()
        return int(count)


def open_counters(url: str, prefix: str) -> Counters:
    if url == "memory":
        return MemoryCounters()
    return RedisCounters(redis.Redis.from_url(url), prefix)
