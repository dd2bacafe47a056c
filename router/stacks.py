"""One API stack as the router sees it: its own pool, gate, timeouts and health."""

from __future__ import annotations

import asyncio
import logging
import time

from router.config import Mode, StackSettings
from router.gate import Gate
from router.upstream import Upstream, UpstreamError
from servicekit.tls import client_context

log = logging.getLogger("router.stacks")

# A stack marked unhealthy is checked again by the next request that finds it so, at most
# this often: it is back as soon as it answers, not at the next tick of the watcher.
RECHECK_AFTER_SECONDS = 0.25
PROBE_TIMEOUT_SECONDS = 2.0


class Stack:
    def __init__(self, mode: Mode, settings: StackSettings) -> None:
        self.mode = mode
        self.settings = settings
        self.gate = Gate(
            settings.max_in_flight,
            settings.queue,
            settings.queue_timeout_seconds,
            settings.max_rate,
            settings.refuse_after_seconds,
            settings.max_rate_per_key,
        )
        verify = client_context(settings.ca_file) if settings.url.startswith("https:") else None
        self.upstream = Upstream(
            settings.url,
            timeout=settings.timeout_seconds,
            connect_timeout=settings.connect_timeout_seconds,
            max_connections=settings.max_connections,
            wait_timeout=settings.queue_timeout_seconds,
            ssl_context=verify,
        )
        # Probes have a connection of their own: the pool may be full by design.
        self._probe = Upstream(
            settings.url,
            timeout=PROBE_TIMEOUT_SECONDS,
            connect_timeout=PROBE_TIMEOUT_SECONDS,
            max_connections=1,
            wait_timeout=PROBE_TIMEOUT_SECONDS,
            ssl_context=verify,
        )
        self.healthy = True  # until a probe says otherwise: the supervisor started it healthy
        self.failures = 0
        self.checked_at: float | None = None
        self._probed_at = 0.0  # time.monotonic() of the last probe's answer
        self._rechecking = False

    async def probe(self, unhealthy_after: int) -> None:
        """One health check."""
        probe = self._probe
        try:
            answer = await probe.send("GET", probe.head("GET", b"/healthz", []), None, False)
            try:
                while (await answer.chunk(PROBE_TIMEOUT_SECONDS))[1]:
                    pass
            except BaseException:
                probe.discard(answer)
                raise
            probe.release(answer)
            ok = answer.status == 200
        except UpstreamError:
            ok = False
        self.checked_at = time.time()
        self._probed_at = time.monotonic()
        if ok:
            if not self.healthy:
                log.warning("%s stack is healthy again", self.mode)
            self.healthy, self.failures = True, 0
            return
        self.failures += 1
        if self.healthy and self.failures >= unhealthy_after:
            log.warning("%s stack is unhealthy: failing its requests fast", self.mode)
            self.healthy = False

    async def available(self) -> bool:
        """True if the stack is healthy. One marked unhealthy is probed again here, by one
        request at a time and at most every RECHECK_AFTER_SECONDS; the other requests are
        refused at once meanwhile. A stack that was down while the router started (the
        processes of a stack start together) is thus usable the moment it answers."""
        if self.healthy:
            return True
        if self._rechecking or time.monotonic() - self._probed_at < RECHECK_AFTER_SECONDS:
            return False
        self._rechecking = True
        try:
            await self.probe(unhealthy_after=1)
        finally:
            self._rechecking = False
        return self.healthy

    async def watch(self, interval: float, unhealthy_after: int) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.probe(unhealthy_after)

    def status(self) -> dict[str, object]:
        return {"healthy": self.healthy, **self.gate.status()}

    async def close(self) -> None:
        self.upstream.close()
        self._probe.close()
