"""Admission to one stack: request rates, requests in flight, a short queue, then 503.

The router's own CPU is shared by both modes, so each stack's traffic is bounded: at most
`max_rate` requests a second in all and `max_rate_per_key` for any one API key are let
through (paced, not burst; Stripe holds test mode to 25 a second too), and at most
`max_in_flight` at once. The rest wait in a short queue — waiting costs no CPU — and past
it are refused with 503 after `refuse_after` seconds: a client that retries at once then
retries once a second, not as fast as the router can answer (the tarpit).
"""

from __future__ import annotations

import asyncio
import time

MAX_TRACKED_KEYS = 10_000


class Overloaded(Exception):
    """No permit within the queue's bounds: the caller answers 503."""


class RateLimited(Overloaded):
    """This key asked faster than its pace for longer than the queue allows: 429."""


class Gate:
    def __init__(
        self,
        max_in_flight: int,
        queue: int,
        queue_timeout: float,
        max_rate: float = 0.0,
        refuse_after: float = 0.0,
        max_rate_per_key: float = 0.0,
    ) -> None:
        self._permits = asyncio.Semaphore(max_in_flight)
        self._limit = max_in_flight
        self._queue = queue
        self._timeout = queue_timeout
        self._interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self._key_interval = 1.0 / max_rate_per_key if max_rate_per_key > 0 else 0.0
        self._next_slot = 0.0
        self._next_key_slot: dict[str, float] = {}
        self._refuse_after = refuse_after
        self.in_flight = 0
        self.waiting = 0
        self.refused = 0

    async def _refuse(self, error: type[Overloaded] = Overloaded) -> Overloaded:
        self.refused += 1
        if self._refuse_after:
            await asyncio.sleep(self._refuse_after)
        return error()

    def _slot(self, key: str, now: float) -> float:
        """The request's place in the paced schedule (now, or later)."""
        slot = max(now, self._next_key_slot.get(key, 0.0)) if self._key_interval else now
        return max(slot, self._next_slot) if self._interval else slot

    def _take(self, key: str, slot: float, now: float) -> None:
        if self._interval:
            self._next_slot = slot + self._interval
        if self._key_interval:
            if len(self._next_key_slot) >= MAX_TRACKED_KEYS:
                # Forget keys whose pace is in the past: they are free to go anyway.
                self._next_key_slot = {k: t for k, t in self._next_key_slot.items() if t > now}
            self._next_key_slot[key] = slot + self._key_interval

    async def enter(self, key: str = "") -> None:
        """Take a permit for a request made with `key`, waiting in the queue if need be;
        Overloaded if that is not possible within the queue's bounds."""
        paced = bool(self._interval or self._key_interval)
        if self.waiting >= self._queue and (self._permits.locked() or paced):
            raise await self._refuse()
        deadline = time.monotonic() + self._timeout
        self.waiting += 1
        try:
            if paced:
                now = time.monotonic()
                slot = self._slot(key, now)
                if slot > deadline:
                    own = max(now, self._next_key_slot.get(key, 0.0)) if self._key_interval else 0
                    raise await self._refuse(RateLimited if own > deadline else Overloaded)
                self._take(key, slot, now)
                await asyncio.sleep(slot - now)
            if not self._permits.locked():
                await self._permits.acquire()  # a permit free: taken at once, no timer
            else:
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
