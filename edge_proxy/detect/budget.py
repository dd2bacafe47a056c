"""The exact path's limits on CPU time: a budget, past which the body is refused, never
passed; and a caller's share, past which the scan stops unfinished.

The exact path is linear but not cheap: a megabyte of one-digit groups costs seconds of
CPU. The detector runs each exact scan under `limits(seconds, until)`; the loops of the
exact path call `check()`, which raises Uninspectable once the budget is spent, and
`ShareSpent` once the share is. The budget is CPU time of the inspecting thread (a loaded
machine that preempts the edge does not make a body "too complex"), and four times it in
wall-clock time.

`ShareSpent` never leaves the detector: it unwinds the exact path's loops to the
detector's method, which answers NEEDS_EXACT (`verdict`), and the caller runs the scan
again where it may take its whole budget. The limits are set and reset by the detector
around each of its own calls (a context variable, read only by `check`), never by its
callers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from edge_proxy.detect.errors import Uninspectable

# However loaded the machine, an inspection ends after this many times its budget of
# wall-clock time: the budget bounds how long a client waits too.
WALL_FACTOR = 4


class ShareSpent(Exception):
    """The caller's share of CPU time ran out before the exact path finished."""


class _Limits(NamedTuple):
    cpu: float | None  # thread_time past which the body is refused
    wall: float | None  # monotonic time, the same
    share: float | None  # thread_time past which the scan stops unfinished


_limits: ContextVar[_Limits | None] = ContextVar("edge_detect_limits", default=None)


@contextmanager
def limits(seconds: float | None, until: float | None = None) -> Iterator[None]:
    """Inspections inside the block must finish within `seconds` of CPU (None: no limit),
    and stop unfinished at `until` (a `time.thread_time()` instant; None: never)."""
    if seconds is None:
        current = _Limits(None, None, until)
    else:
        current = _Limits(
            time.thread_time() + seconds, time.monotonic() + WALL_FACTOR * seconds, until
        )
    token = _limits.set(current)
    try:
        yield
    finally:
        _limits.reset(token)


def check() -> None:
    """Raise ShareSpent once the caller's share is spent, Uninspectable("too_slow") once
    the budget is."""
    current = _limits.get()
    if current is None:
        return
    now = time.thread_time()
    if current.share is not None and now > current.share:
        raise ShareSpent  # some bodies of a few KiB cost 100 ms: not where the share is short
    if (current.cpu is not None and now > current.cpu) or (
        current.wall is not None and time.monotonic() > current.wall
    ):
        raise Uninspectable("too_slow", "The body could not be inspected in time.")
