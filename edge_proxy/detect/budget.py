"""A time budget for one inspection: past it, the body is refused, never passed; and a
way to allow the fast path alone, on the event loop.

The exact path is linear but not cheap: a megabyte of one-digit groups costs seconds of
CPU. An inspection runs under `deadline(seconds)`; the detector's loops call `check()`,
which raises Uninspectable once the budget is spent. The budget is CPU time of the
inspecting thread (a loaded machine that preempts the edge does not make a body
"too complex"), and four times it in wall-clock time. Thread-local: each inspection
runs in one thread (the event loop's, or a scanning process's for large bodies).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from edge_proxy.detect.errors import Uninspectable

_local = threading.local()
# However loaded the machine, an inspection ends after this many times its budget of
# wall-clock time: the budget bounds how long a client waits too.
WALL_FACTOR = 4


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Inspections inside the block must finish within `seconds` (None: no limit)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = (
        None
        if seconds is None
        else (time.thread_time() + seconds, time.monotonic() + WALL_FACTOR * seconds)
    )
    try:
        yield
    finally:
        _local.deadline = previous


class Deferred(Exception):
    """The fast path could not clear a body while only the fast path was allowed."""


@contextmanager
def fast_only(inline_bytes: int = -1, inline_seconds: float | None = None) -> Iterator[None]:
    """Inside the block, a body of more than `inline_bytes` (decoded) that the fast path
    cannot clear raises `Deferred` instead of running the exact path, and so does a
    body that decodes past `inline_bytes`, and an exact path that takes more than
    `inline_seconds` of CPU time (`check`): the caller runs the hook again where it may
    take its time (a scanning process). -1: no exact path at all."""
    previous = getattr(_local, "inline_bytes", None), getattr(_local, "inline_until", None)
    _local.inline_bytes = inline_bytes
    _local.inline_until = None if inline_seconds is None else time.thread_time() + inline_seconds
    try:
        yield
    finally:
        _local.inline_bytes, _local.inline_until = previous


def inline_limit() -> int | None:
    """The most bytes the exact path and decoding may handle here; None: no limit."""
    limit: int | None = getattr(_local, "inline_bytes", None)
    return limit


def exact_allowed(size: int = 0) -> bool:
    """True when the exact path may run here on `size` bytes."""
    limit = inline_limit()
    return limit is None or size <= limit


def check() -> None:
    """Raise Uninspectable("too_slow") once the current budget is spent, or Deferred once
    the event loop's share of it is."""
    until = getattr(_local, "inline_until", None)
    if until is not None and time.thread_time() > until:
        raise Deferred  # some bodies of a few KiB cost 100 ms: not on the event loop
    limit = getattr(_local, "deadline", None)
    if limit is not None and (time.thread_time() > limit[0] or time.monotonic() > limit[1]):
        raise Uninspectable("too_slow", "The body could not be inspected in time.")
