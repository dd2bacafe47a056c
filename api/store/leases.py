"""Process leases: each API process renews its own row every few seconds while it lives.

An Idempotency-Key claimed by a process whose lease has lapsed belongs to a request that
died with it (a crash, a kill): a retry may take the key over at once instead of waiting
for the lock to time out. A lease that lapses while its process still lives (a pause
longer than the lease) only lets a retry run alongside the first request, which is safe:
both derive the same ids, every move is a compare-and-set and the vault executes an id once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading

from sqlalchemy import Engine, bindparam, delete, insert, update
from sqlalchemy.orm import Session, sessionmaker

from api.store.db import statement
from api.store.models import Lease, utcnow

log = logging.getLogger("api.leases")

# A lease lapsed this long ago is forgotten: its process is long gone.
FORGET_AFTER = dt.timedelta(days=1)


def new_owner() -> str:
    """A name for this process that no other process, here or elsewhere, will carry."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(6)}"


# Built once: a lease is renewed every few seconds by every process, however idle.
_RENEW = update(Lease).where(Lease.owner == bindparam("who")).values(expires_at=bindparam("until"))
_TAKE = insert(Lease).values(owner=bindparam("who"), expires_at=bindparam("until"))
_FORGET = delete(Lease).where(Lease.expires_at < bindparam("lapsed_before"))
_RELEASE = delete(Lease).where(Lease.owner == bindparam("who"))


def renew(
    sessions: sessionmaker[Session], owner: str, ttl: dt.timedelta, now: dt.datetime | None = None
) -> None:
    """Extend `owner`'s lease to now + ttl (creating it), and forget long-lapsed ones."""
    now = now or utcnow()
    engine: Engine = sessions.kw["bind"]
    # The renewal, every few seconds, is one statement in autocommit (one round trip,
    # not three); the first (no row yet) takes the lease in a transaction.
    with statement(engine) as connection:
        moved = connection.execute(_RENEW, {"who": owner, "until": now + ttl})
    if moved.rowcount:
        return
    with engine.begin() as connection:
        moved = connection.execute(_RENEW, {"who": owner, "until": now + ttl})
        if not moved.rowcount:
            connection.execute(_TAKE, {"who": owner, "until": now + ttl})
            connection.execute(_FORGET, {"lapsed_before": now - FORGET_AFTER})


def release(sessions: sessionmaker[Session], owner: str) -> None:
    """End `owner`'s lease (a clean stop): its claims are free at once."""
    engine: Engine = sessions.kw["bind"]
    with engine.begin() as connection:
        connection.execute(_RELEASE, {"who": owner})


class LeaseKeeper:
    """This process's lease, renewed by a thread every third of its length while it runs."""

    def __init__(self, sessions: sessionmaker[Session], ttl: dt.timedelta) -> None:
        self.owner = new_owner()
        self._sessions = sessions
        self._ttl = ttl
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        renew(self._sessions, self.owner, self._ttl)  # held before the first request
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            release(self._sessions, self.owner)
        except Exception:
            log.exception("lease not released; it lapses by itself")

    def _run(self) -> None:
        while not self._stop.wait(self._ttl.total_seconds() / 3):
            try:
                renew(self._sessions, self.owner, self._ttl)
            except Exception:
                # Lapsing only lets retries take this process's keys over, which is safe.
                log.exception("lease not renewed")
