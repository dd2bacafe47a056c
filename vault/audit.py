"""The audit log's writer: group commit of entries, then of the operations they record.

Callers queue their entries (and any database work they audit) and wait. The first caller
to find no round under way appends everything queued in one write and one fsync, then runs
the queued database work and moves the log's anchor (its newest seq and hash, in the
database) in one transaction. So an operation's entries are on disk before its data is: if
they cannot be written, nothing is done (fail closed), and one fsync serves every waiting
request.
Writers take an exclusive flock: the server and the `strongroom` command share one log.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, delete, select, text, update

from vault.audit_chain import (
    AuditChainBroken,
    Head,
    check_line,
    entry_line,
    verify_chain,
)
from vault.domain.card_numbers import holds_card_number
from vault.errors import AuditUnavailable
from vault.store.db import autocommit, upsert
from vault.store.models import AuditAnchor, OwedAuditEntry
from vault.store.owed import Entry, owe

log = logging.getLogger("vault.audit")

Work = Callable[[Connection], None]
Owed = tuple[tuple[int, Entry], ...]  # owed entries, each with its row's id


@dataclass
class _Job:
    entries: Sequence[Entry]
    work: Work | None
    future: Future[None] = field(default_factory=Future)


def read_anchors(engine: Engine) -> dict[str, tuple[int, str]]:
    """Every log identity the database has anchored, with its newest (seq, hash)."""
    with engine.connect() as conn:
        rows = conn.execute(select(AuditAnchor.chain, AuditAnchor.seq, AuditAnchor.hash))
        return {chain: (seq, hash_) for chain, seq, hash_ in rows}


class _GroupCommit:
    """Group commit without a writer thread: the caller that finds no round under way
    writes everything queued so far, its own job among them; callers arriving meanwhile
    queue theirs and wait, and the next of them to wake writes them all in one round."""

    def __init__(self, handle: Callable[[list[_Job]], None]) -> None:
        self._handle = handle
        self._queue: list[_Job] = []
        self._turn = threading.Condition()
        self._busy = False

    def run(self, job: _Job) -> None:
        """Return once `job` is done: written with its work, or refused."""
        with self._turn:
            self._queue.append(job)
            while self._busy and not job.future.done():
                self._turn.wait()
            if job.future.done():  # a round another caller wrote
                return
            self._busy = True
            batch, self._queue = self._queue, []
        try:
            self._handle(batch)
        finally:
            for queued in batch:
                if not queued.future.done():  # never left waiting, even by a bug in _handle
                    queued.future.set_exception(AuditUnavailable())
            with self._turn:
                self._busy = False
                self._turn.notify_all()


class AuditLog:
    """Appends entries durably, or raises AuditUnavailable so the caller does nothing."""

    def __init__(self, path: Path, engine: Engine | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600))
        # Never extend a chain that is broken, or shorter than its anchor.
        anchors = None if engine is None else read_anchors(engine)
        with path.open("rb") as held:
            fcntl.flock(held, fcntl.LOCK_SH)  # no writer appends while the chain is read
            head = verify_chain(path, anchors)
            self._size = os.fstat(held.fileno()).st_size  # the bytes verified, and no more
        self._chain, self._path, self._engine = head.chain, path, engine
        self._autocommit = None if engine is None else autocommit(engine)
        # (seq, hash) of the newest entry this writer verified or wrote, ending at _size.
        self._tail = (head.seq, head.hash)
        # Written by the callers' own threads: handing each entry to a writer thread and back
        # cost two thread switches per entry, more CPU than the write itself.
        self._rounds = _GroupCommit(self._commit)
        self._owing = engine is not None and _has_owed(engine)  # rows to read back
        self._handed: deque[tuple[int, Entry]] = deque()  # committed, owed, not read back
        # Ids a round read back, and when: a hand-off of one of them that comes after (its
        # committer was slower than the round) is not written from the hand-off, but from
        # the table if still there (a reused id), so nothing is written twice or left.
        self._read_back: dict[int, float] = {}
        # Metrics hooks (vault_operator.metrics): seconds each write and fsync took; a failure.
        self.on_fsync: Callable[[float], None] = lambda seconds: None
        self.on_failure: Callable[[], None] = lambda: None

    def append(self, actor: str, action: str, token: str | None, outcome: str) -> None:
        """Write one entry; it is on disk when this returns."""
        self.submit([(actor, action, token, outcome)]).result()

    def submit(self, entries: Sequence[Entry], work: Work | None = None) -> Future[None]:
        """Queue entries, and database work to run in a transaction once they are on disk."""
        # Owed entries are written first, in the same write (the writer's _commit): if the
        # log cannot take them, nothing new starts either.
        return self._queue(entries, work)

    def _queue(self, entries: Sequence[Entry], work: Work | None) -> Future[None]:
        _refuse_card_numbers(entries)
        if work is not None and self._engine is None:
            raise ValueError("database work needs an audit log with an engine")
        job = _Job(entries, work)
        self._rounds.run(job)
        return job.future

    def vet(self, entries: Sequence[Entry]) -> None:
        """Refuse (ValueError) entries the log must never hold, before a caller owes them
        by a statement of its own."""
        _refuse_card_numbers(entries)

    def owe(self, conn: Connection, entries: Sequence[Entry]) -> None:
        """Record `entries` in the caller's transaction, for `catch_up` to write.

        For a change that must stand even while the log cannot be written — a card
        network's answer: the money has moved, so its record is kept and answered, and its
        audit entries are written from that record as soon as the log takes them. (A
        charge's outcome owes its entries by a statement of its own, vetted here first, and
        hands them to `catch_up` once committed: vault.store.outcomes.)
        """
        _refuse_card_numbers(entries)
        if entries:
            owe(conn, entries)
            self._owing = True

    def catch_up(self, owed: Owed = ()) -> bool:
        """Write every owed entry to the log (`owed`, committed, among them); False while
        the log cannot be written.

        Callers at once share one round of the writer: one read of what is owed (none if
        every owed entry was handed over), one write and fsync, one statement or
        transaction (not a round trip each, one after the other)."""
        if self._engine is None:
            return True
        self._handed.extend(owed)
        try:
            self._queue((), None).result()
            while self._owing or self._handed:  # more than one round takes, or owed since
                self._queue((), None).result()
        except AuditUnavailable:
            return False
        return True

    def _take_owed(self) -> tuple[list[Entry], list[int]]:
        """What is owed (up to _OWED's limit), and the ids the anchor's move settles."""
        handed: list[tuple[int, Entry]] = []  # all of them if read back: those read are dropped
        taken: set[int] = set()  # handed over to this round: no later hand-off of these comes
        while self._handed and (self._owing or len(taken) < _OWED_BATCH):
            id_, entry = self._handed.popleft()
            taken.add(id_)
            if self._read_back.pop(id_, None) is None:
                handed.append((id_, entry))
            else:
                # Read back by an earlier round, or a new row under a reused id (SQLite
                # reuses a deleted row's id): the table decides, in this round's read.
                self._owing = True
        if self._owing:
            self._owing = False  # an owe() from now on sets it again, for the next round
            assert self._autocommit is not None  # made with the engine
            with self._autocommit.connect() as conn:
                read = conn.execute(_OWED).all()
            if len(read) >= _OWED_BATCH:
                self._owing = True  # more than one round owes
            ids = {row.id for row in read}  # a handed entry read back is written once
            self._remember_read_back(ids - taken)
            handed = [(r.id, (r.actor, r.action, r.token, r.outcome)) for r in read] + [
                h for h in handed if h[0] not in ids
            ]
        return [entry for _, entry in handed], [id_ for id_, _ in handed]

    def _remember_read_back(self, ids: set[int]) -> None:
        now = time.monotonic()
        while self._read_back:  # in the order remembered: the oldest first
            oldest = next(iter(self._read_back))
            if now - self._read_back[oldest] <= _READ_BACK_KEPT:
                break
            del self._read_back[oldest]
        for id_ in ids:
            self._read_back.pop(id_, None)  # remembered again: moves to the end
            self._read_back[id_] = now

    def _commit(self, batch: list[_Job]) -> None:
        try:
            owed, settled = self._take_owed()
            if owed:  # owed entries go first, and are settled with the anchor's move
                batch = [_Job(owed, None), *batch]
            entries = [entry for job in batch for entry in job.entries]
            if not entries and all(job.work is None for job in batch):
                for job in batch:  # a catch-up with nothing owed: nothing to write
                    job.future.set_result(None)
                return
            head = self._write(entries)
        except Exception as exc:
            # Whatever stopped the write, the operations it would have recorded are refused.
            log.error("audit log write failed: %s", type(exc).__name__)
            self._owing = self._engine is not None
            self.on_failure()
            for job in batch:
                job.future.set_exception(AuditUnavailable())
            return
        if self._engine is None:
            for job in batch:
                job.future.set_result(None)
            return
        assert self._autocommit is not None  # made with the engine
        try:
            postgresql = self._engine.dialect.name == "postgresql"
            if any(job.work for job in batch) or (settled and not postgresql):
                with self._engine.begin() as conn:
                    for job in batch:
                        if job.work is not None:
                            job.work(conn)
                    _advance(conn, head, settled)
            else:
                # The anchor's move (and the settling of owed entries, on PostgreSQL) is one
                # statement, sent without a transaction around it (no BEGIN and COMMIT).
                with self._autocommit.connect() as conn:
                    _advance(conn, head, settled)
        except Exception:
            # One failing operation must not fail the others: each again, alone.
            self._one_by_one(batch, head, settled)
            return
        for job in batch:
            job.future.set_result(None)

    def _one_by_one(self, batch: list[_Job], head: Head, settled: list[int]) -> None:
        assert self._engine is not None
        for job in batch:
            try:
                with self._engine.begin() as conn:
                    if job.work is not None:
                        job.work(conn)
                    _advance(conn, head, settled)
            except Exception as exc:
                # Its entries stay: the log over-reports an attempt, never hides one.
                job.future.set_exception(exc)
            else:
                job.future.set_result(None)

    def _write(self, entries: Sequence[Entry]) -> Head:
        """Append `entries` under the flock and fsync them; all or none of them."""
        fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # other processes append to this file too
            size = os.fstat(fd).st_size
            if size < self._size:
                raise AuditChainBroken("the audit log shrank: entries were removed")
            # Our own last entry, or what other writers appended after it, each entry checked
            # to chain from ours: an entry rewritten in place is refused, never chained to.
            seq, prev_hash = self._tail if size == self._size else self._appended(fd, size)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
            lines = []
            for actor, action, token, outcome in entries:
                seq += 1
                prev_hash, line = entry_line(seq, now, actor, action, token, outcome, prev_hash)
                lines.append(line)
                self._chain = self._chain or (prev_hash if seq == 1 else None)
            data = "".join(lines).encode()
            try:
                started = time.perf_counter()
                if os.write(fd, data) != len(data):
                    raise OSError("short write to the audit log")
                os.fsync(fd)  # the entries are on disk before the operations proceed
                self.on_fsync(time.perf_counter() - started)
            except OSError:
                os.ftruncate(fd, size)  # leave no partial entry to break the chain
                raise
            self._size, self._tail = size + len(data), (seq, prev_hash)
            return Head(seq, prev_hash, self._chain)
        finally:
            os.close(fd)  # also releases the flock

    def _appended(self, fd: int, size: int) -> tuple[int, str]:
        """(seq, hash) of the newest entry after those other writers appended since this
        one's last write, each checked to chain from the entry this writer knows last."""
        seq, prev_hash = self._tail
        appended = os.pread(fd, size - self._size, self._size)
        if not appended.endswith(b"\n"):
            raise AuditChainBroken("the last audit entry is incomplete")
        for line in appended.splitlines(keepends=True):
            seq += 1
            prev_hash = check_line(line, seq, prev_hash)
            self._chain = self._chain or (prev_hash if seq == 1 else None)
        return seq, prev_hash


def _refuse_card_numbers(entries: Sequence[Entry]) -> None:
    for actor, action, token, outcome in entries:
        if any(holds_card_number(f) for f in (actor, action, token or "", outcome)):
            # Twelve digits could be part of a card number: refuse to write them.
            raise ValueError("refusing to write a card number into the audit log")


_OWED_BATCH = 500
# How long an id read back is remembered: a hand-off comes right after its record commits,
# in the same request. One later than this is written again (the log over-reports).
_READ_BACK_KEPT = 60.0
_OWED = select(OwedAuditEntry).order_by(OwedAuditEntry.id).limit(_OWED_BATCH)
_SETTLE = delete(OwedAuditEntry).where(OwedAuditEntry.id.in_(bindparam("ids", expanding=True)))


def _has_owed(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(OwedAuditEntry.id).limit(1)).first() is not None


# Built once: a statement reused is compiled once, and this runs with every batch.
_ADVANCE = (
    update(AuditAnchor)
    .where(AuditAnchor.chain == bindparam("c"), AuditAnchor.seq < bindparam("s"))
    .values(seq=bindparam("s"), hash=bindparam("h"))
)
# PostgreSQL: the owed entries' deletion and the anchor's move in one statement (atomic).
_ADVANCE_SETTLING = text(
    "WITH settled AS (DELETE FROM audit_owed WHERE id = ANY(:ids)) "
    "UPDATE audit_anchors SET seq = :s, hash = :h WHERE chain = :c AND seq < :s"
)


def _advance(conn: Connection, head: Head, settled: Sequence[int] = ()) -> None:
    """Move the anchor forward to `head`, never back (another writer may be further on),
    and delete the owed entries `settled` (written up to it) in the same statement."""
    values = {"c": head.chain, "s": head.seq, "h": head.hash, "ids": list(settled)}
    in_one = bool(settled) and conn.dialect.name == "postgresql"
    if settled and (head.chain is None or not in_one):
        conn.execute(_SETTLE, values)  # SQLite: a statement of its own, in the transaction
    if head.chain is None:
        return
    moved = conn.execute(_ADVANCE_SETTLING if in_one else _ADVANCE, values)
    if moved.rowcount == 0:  # a new log, or another writer is further on already
        row = {"chain": head.chain, "seq": head.seq, "hash": head.hash}
        upsert(conn, AuditAnchor.__table__, row, key="chain", only_if_greater="seq")


class Refusals:
    """Refused credentials, audited without what was presented (PCI DSS 10.2.1.4).

    At most `limit` entries a minute: a flood of bad keys must not become a flood of
    fsyncs. Refusals past it are counted, and the next entry says how many there were.
    """

    def __init__(self, audit: AuditLog, limit: int = 60) -> None:
        self._audit, self._limit = audit, limit
        self._lock = threading.Lock()
        self._window, self._written, self._unwritten = 0, 0, 0

    def refused(self, actor: str, action: str, code: str) -> None:
        minute = int(time.monotonic() // 60)
        with self._lock:
            if minute != self._window:
                self._window, self._written = minute, 0
            if self._written >= self._limit:
                self._unwritten += 1
                return
            self._written += 1
            outcome = f"refused:{code}"
            if self._unwritten:
                outcome += f":and_{self._unwritten}_unaudited_before"
                self._unwritten = 0
        try:
            self._audit.append(actor, action, None, outcome)
        except AuditUnavailable:
            # The request is refused whatever the log can do; the refusal is only logged.
            log.error("a refused credential could not be audited")
