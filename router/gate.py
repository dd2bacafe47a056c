"""Admission to one stack: a request rate, requests in flight, a short queue, then 503.

The router's own CPU is shared by both modes, so each stack's traffic is bounded twice:
at most `max_rate` requests a second are let through (paced, not burst), and at most
`max_in_flight` at once. The rest wait in a short queue — waiting costs no CPU — and past
it are refused with 503 after `refuse_after` seconds: a client that retries at once then
retries once a second, not as fast as the router can answer (the tarpit).
"""

from __future__ import annotations

import asyncio
import time


class Overloaded(Exception):
    """No permit within the queue's bounds: the caller answers 503."""


class Gate:
    def __init__(
        self,
        max_in_flight: int,
        queue: int,
        queue_timeout: float,
        max_rate: float = 0.0,
        refuse_after: float = 0.0,
    ) -> None:
        self._permits = asyncio.Semaphore(max_in_flight)
        self._limit = max_in_flight
        self._queue = queue
        self._timeout = queue_timeout
        self._interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self._next_slot = 0.0
        self._refuse_after = refuse_after
        self.in_flight = 0
        self.waiting = 0
        self.refused = 0

    async def _refuse(self) -> Overloaded:
        self.refused += 1
        if self._refuse_after:
            await asyncio.sleep(self._refuse_after)
        return Overloaded()

    async def enter(self) -> None:
        """Take a permit, waiting in the queue if need be; Overloaded if that is not possible."""
        if self.waiting >= self._queue and (self._permits.locked() or self._interval):
            raise await self._refuse()
        deadline = time.monotonic() + self._timeout
        self.waiting += 1
        try:
            if self._interval:
                # A slot in the paced schedule: the next free one, if it comes in time.
                now = time.monotonic()
                slot = max(now, self._next_slot)
                if slot > deadline:
                    raise await self._refuse()
                self._next_slot = slot + self._interval
                await asyncio.sleep(slot - now)
            try:
                await asyncio.wait_for(self._permits.acquire(), deadline - time.monotonic())
            except TimeoutError:
                raise await self._refuse() from None
        finally:
            self.waiting -= 1
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        self._permits.release()

    def status(self) -> dict[str, int]:
        return {
            "in_flight": self.in_flight,
            "queued": self.waiting,
            "max_in_flight": self._limit,
            "refused": self.refused,
        }
