"""A time budget for one inspection: past it, the body is refused, never passed.

The exact path is linear but not cheap: a megabyte of one-digit groups costs seconds of
CPU. An inspection runs under `deadline(seconds)`; the detector's loops call `check()`,
which raises Uninspectable once the budget is spent. Thread-local: each inspection runs
in one thread (the event loop's, or a worker's for large bodies).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from edge_proxy.detect.errors import Uninspectable

_local = threading.local()


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Inspections inside the block must finish within `seconds` (None: no limit)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = None if seconds is None else time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = previous


def check() -> None:
    """Raise Uninspectable("too_slow") once the current budget is spent."""
    limit = getattr(_local, "deadline", None)
    if limit is not None and time.monotonic() > limit:
        raise Uninspectable("too_slow", "The body could not be inspected in time.")
