"""Exact-path scans off the event loop, in worker processes.

A body the fast path cannot clear and that is too large to read on the event loop (more
than `proxy.INLINE_SCAN_BYTES` once decoded) is decoded and read in a worker process. Not
a thread: the exact path is Python, and a thread reading a megabyte of digit groups holds
the interpreter lock for tens of milliseconds at a time (one ``re.split`` over the body),
so the event loop, which needs the lock for every step of every request, waited up to
seconds behind it. A process has its own lock.

The hook runs in the worker on a copy of the flow, with no room limit but the detector's
budget (`filters.base.ANYWHERE`); what it changes (the decoded bodies) is copied back,
and an `EdgeError` it raises is raised here (errors pickle with their status, code and
param). The workers are started from a fork server, not forked from the
serving process (which runs an event loop and threads), and run at a lower CPU priority
than it (`SCAN_NICENESS`): a costly body waits, the event loop does not.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from edge_proxy.errors import InternalError
from edge_proxy.filters import Filter, run_hook
from edge_proxy.filters.base import ANYWHERE, Hook
from edge_proxy.flow import Flow

# Scans are background work: on a busy machine the serving process (every other
# client's requests, the health probe) gets the CPU first.
SCAN_NICENESS = 10


def _configure(level: str) -> None:
    os.nice(SCAN_NICENESS)
    # A worker logs refusals (by place and length only) straight to stderr, at once.
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )


def _run(filters: list[Filter], hook: Hook, flow: Flow) -> tuple[bytes | None, bytes | None]:
    if run_hook(filters, hook, flow, ANYWHERE).needs_exact:
        # Fail closed: with no room limit no filter should ask for more; none passes unread.
        raise InternalError()
    return flow.request.decoded, flow.response.decoded if flow.response else None


class ScanWorkers:
    """A small pool of scanning processes, started on first use."""

    def __init__(self, workers: int, log_level: str = "INFO") -> None:
        context = multiprocessing.get_context("forkserver")
        self.pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_configure, initargs=(log_level,)
        )

    async def run(self, filters: list[Filter], hook: Hook, flow: Flow) -> None:
        """Run `hook` of `filters` on `flow` in a worker; its decoded bodies come back."""
        loop = asyncio.get_running_loop()
        decoded, response_decoded = await loop.run_in_executor(self.pool, _run, filters, hook, flow)
        flow.request.decoded = decoded
        if flow.response is not None:
            flow.response.decoded = response_decoded

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
