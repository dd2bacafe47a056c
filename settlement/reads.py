"""Audited reads that a completer repeats: one entry per reader and subject per minute.

An API stack's completer asks the vault about an unfinished charge or refund every few
seconds until it is final; an entry for each poll would bury the log (and its fsyncs)
under identical lines. So the first read of a subject (a charge, a refund) by an actor is
audited, before it is answered, and the same actor's reads of the same subject within the
next `window` seconds are covered by that entry: the log still says who read what, and
when, to the minute (PCI DSS 10.2.1, 10.2.2). Refused reads are not rate-limited here:
each is audited by its caller. Counted per process, in memory: N vault processes write
up to N entries per subject and minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from vault.audit import AuditLog

WINDOW = 60.0  # seconds one read entry covers
_MOST = 10_000  # subjects remembered before the stale ones are dropped


class ReadAudit:
    def __init__(
        self, audit: AuditLog, window: float = WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._audit = audit
        self._window = window
        self._clock = clock
        # (actor, action, subject) -> (time of its last entry, reads covered by it since)
        self._last: dict[tuple[str, str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def append(self, actor: str, action: str, token: str, subject: str) -> None:
        """Audit `actor`'s read of `subject` (on card `token`) unless an entry written less
        than a window ago already covers it. Fail closed: a read due an entry that cannot
        be written is refused (AuditUnavailable), and the next read tries again."""
        key = (actor, action, subject)
        now = self._clock()
        with self._lock:
            last, repeats = self._last.get(key, (None, 0))
            if last is not None and now - last < self._window:
                self._last[key] = (last, repeats + 1)
                return
        outcome = f"ok:and_{repeats}_repeats" if repeats else "ok"
        self._audit.append(actor, action, token, outcome)
        with self._lock:
            self._last[key] = (now, 0)
            if len(self._last) > _MOST:
                self._last = {k: v for k, v in self._last.items() if now - v[0] < self._window}
