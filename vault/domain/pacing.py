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


class Pace:
    def __init__(self, limit: int, window: float = 60.0) -> None:
        self._limit, self._window = limit, window
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (window start, count)
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> bool:
        """Count one event of `key`; False once the key has spent its window's limit."""
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self._window:
                start, count = now, 0
            if count >= self._limit:
                return False
            if len(self._counts) >= _MAX_KEYS:
                self._forget_ended(now)
            self._counts[key] = (start, count + 1)
            return True

    def _forget_ended(self, now: float) -> None:
        ended = [k for k, (start, _) in self._counts.items() if now - start >= self._window]
        for key in ended:
            del self._counts[key]


def too_many() -> VaultError:
    return VaultError(
        429, "rate_limit_error", "rate_limit", "Too many cards were tokenised; slow down."
    )


class TokenisingPace:
    """Tokenisations per client address (before the key is checked) and per merchant key."""

    def __init__(self, per_client: int, per_key: int) -> None:
        self._clients, self._keys = Pace(per_client), Pace(per_key)

    def client(self, address: str) -> None:
        if not self._clients.allow(address, time.monotonic()):
            raise too_many()

    def key(self, key: str) -> None:
        if not self._keys.allow(key, time.monotonic()):
            raise too_many()
