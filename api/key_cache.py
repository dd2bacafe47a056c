"""Merchant keys already looked up, kept while the process hears of every roll.

A key's lookup is a database read in a worker thread on every request; the cache answers
from memory instead. A roll (api.admin.roll_key, from any process) sends PostgreSQL's
`NOTIFY strongroom_api_keys` in its transaction, and a listener thread here empties the
cache when it arrives. Fail closed: the cache answers only while that listener is
connected and listening, since a roll it could not hear of must not leave a rolled key
working; on SQLite, or with the listener down, every lookup goes to the database.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy import Engine

if TYPE_CHECKING:
    from api.keys import Known

log = logging.getLogger("api.keys")

CHANNEL = "strongroom_api_keys"
_MAX_ENTRIES = 10_000
_RETRY_SECONDS = 1.0


class KeyCache:
    def __init__(self) -> None:
        self._entries: dict[str, Known] = {}
        self._listening = False
        # Moves on every invalidation: a lookup read before one is not kept after it.
        self.generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self, digest: str) -> Known | None:
        return self._entries.get(digest) if self._listening else None

    def put(self, digest: str, known: Known, generation: int) -> None:
        """Keep a lookup made at `generation`, unless a roll was heard of since."""
        if not self._listening or generation != self.generation:
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries = {}
        self._entries[digest] = known
        if generation != self.generation:  # a roll was heard of meanwhile
            self._entries.pop(digest, None)

    def invalidate(self) -> None:
        self.generation += 1
        self._entries = {}

    def listen(self, engine: Engine) -> None:
        """Start the listener for this database; on SQLite nothing (no cache)."""
        if engine.dialect.name != "postgresql":
            return
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._thread = threading.Thread(target=self._run, args=(url,), name="key-cache")
        self._thread.daemon = True
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, url: str) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.invalidate()  # whatever was missed while not listening
                    self._listening = True
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.invalidate()
                        conn.execute("SELECT 1")  # still connected: else the cache goes off
            except psycopg.Error as exc:
                log.warning("key cache off, its listener failed: %s", type(exc).__name__)
            finally:
                self._listening = False
                self.invalidate()
            self._stop.wait(_RETRY_SECONDS)
