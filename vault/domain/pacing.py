"""Pacing: at most `limit` events per key in each `window` seconds, in this process's memory.

Tokenisation is paced per merchant key and per client address (docs/vault.md): each
number tried costs one event, so guessing card numbers through the vault is slow. Fixed
windows: simple, and a burst at a window's edge is at most twice the limit.
"""

from __future__ import annotations

import threading
import time

from vault.errors import VaultError

_MAX_KEYS = 100_000  # past this many keys, windows that have ended are forgotten
_TOO_MANY = "Too many cards were tokenised; slow down."


class Pace:
    def __init__(self, limit: int, window: float = 60.0) -> None:
        self._limit, self._window = limit, window
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (window start, count)
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Count one event of `key`; a 429 once the key has spent its window's limit."""
        now = time.monotonic()
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self._window:
                start, count = now, 0
            if count >= self._limit:
                raise VaultError(429, "rate_limit_error", "rate_limit", _TOO_MANY)
            if len(self._counts) >= _MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self._window}
            self._counts[key] = (start, count + 1)


class TokenisingPace:
    """Tokenisations per client address (before the key is checked) and per merchant key."""

    def __init__(self, per_client: int, per_key: int) -> None:
        self.client, self.key = Pace(per_client), Pace(per_key)
