"""Admission to one stack: at most N requests in flight, a short queue, then 503.

Waiting requests cost nothing but memory; a full queue is refused at once, so a flood
aimed at one stack is turned away at its own gate and takes no permit of the other's.
"""

from __future__ import annotations

import asyncio


class Overloaded(Exception):
    """No permit within the queue's bounds: the caller answers 503."""


class Gate:
    def __init__(self, max_in_flight: int, queue: int, queue_timeout: float) -> None:
        self._permits = asyncio.Semaphore(max_in_flight)
        self._limit = max_in_flight
        self._queue = queue
        self._timeout = queue_timeout
        self.in_flight = 0
        self.waiting = 0

    async def enter(self) -> None:
        """Take a permit, waiting in the queue if need be; Overloaded if that is not possible."""
        if self._permits.locked() and self.waiting >= self._queue:
            raise Overloaded
        self.waiting += 1
        try:
            await asyncio.wait_for(self._permits.acquire(), self._timeout)
        except TimeoutError:
            raise Overloaded from None
        finally:
            self.waiting -= 1
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        self._permits.release()

    def status(self) -> dict[str, int]:
        return {"in_flight": self.in_flight, "queued": self.waiting, "max_in_flight": self._limit}
