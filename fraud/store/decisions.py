"""Recorded decisions: what every assessment saw and decided, for audits and backtests.

Written behind the answer by one thread that commits them in groups: an fsync per
assessment would cost more than the assessment itself. The queue is bounded, and a full
queue (the store down or too slow) refuses assessments: a decision that cannot be
recorded is not made. A crash of the process can lose the group not yet committed
(at most twice `interval` of decisions); the API's charge keeps score, decision and rule.
A commit costs as much CPU as ten rows (PostgreSQL: half a millisecond): at a hundred
assessments a second, groups of a fifth of a second hold twenty rows, not five.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.orm import Session, sessionmaker

from fraud.rules.ruleset import Outcome
from fraud.store.models import Decision, utcnow

log = logging.getLogger("fraud.decisions")
_DECISIONS: Table = Decision.__table__  # type: ignore[assignment]
# Put by `close` to wake the writer waiting on an empty queue: not a row.
_WAKE: dict[str, Any] = {}


class DecisionsBacklogged(Exception):
    """More decisions wait than the store has taken: refuse until it catches up."""


def memberships(
    values: dict[str, Any], lists: Mapping[str, frozenset[str]]
) -> dict[str, list[str]]:
    """For each list, the string attributes whose value it held at this moment."""
    strings = [(name, value) for name, value in values.items() if isinstance(value, str)]
    # An empty list holds nothing: most of a scope's lists are, and are not walked.
    found = {
        alias: [n for n, v in strings if v in members]
        for alias, members in lists.items()
        if members
    }
    return {alias: names for alias, names in found.items() if names}


def decision_row(
    scope: str,
    charge_id: str,
    version: int,
    outcome: Outcome,
    values: dict[str, Any],
    memberships: dict[str, list[str]],
    ruleset: str = "live",
) -> dict[str, Any]:
    return {
        "scope": scope,
        "charge_id": charge_id,
        "ruleset": ruleset,
        "ruleset_version": version,
        "decision": outcome.decision,
        "score": outcome.score,
        "rule_id": outcome.rule.id if outcome.rule else None,
        "reason": outcome.reason,
        "results": [
            {"rule": rule, "action": action, "matched": matched}
            for rule, action, matched in outcome.results
        ],
        "attributes": {k: v for k, v in values.items() if v is not None},
        "memberships": memberships,
        "created": utcnow(),
    }


class DecisionLog:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        capacity: int = 20_000,
        batch: int = 500,
        interval: float = 0.2,
    ) -> None:
        # Inserted by Core on the engine: the ORM's bulk insert and its session cost a
        # third more CPU per group, and these rows are never read back here.
        with sessions() as session:
            engine = session.get_bind()
        assert isinstance(engine, Engine), "fraud's sessions are bound to its engine"
        self._engine = engine
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(capacity)
        self._capacity = capacity
        self._batch = batch
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fraud-decisions", daemon=True)
        self._thread.start()

    def record(self, row: dict[str, Any]) -> None:
        # Rows the writer holds count too: its group is off the queue until committed.
        if self._queue.unfinished_tasks >= self._capacity:
            raise DecisionsBacklogged
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            raise DecisionsBacklogged from None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every decision recorded so far is committed (False: timed out)."""
        if timeout is None:
            self._queue.join()
            return True
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued (within `timeout`), then stop the writer."""
        if not self.flush(timeout):
            log.error("%d decisions not recorded at shutdown", self._queue.unfinished_tasks)
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # full: the writer is busy, not waiting
            self._queue.put_nowait(_WAKE)
        self._thread.join(timeout=5)

    def _take(self) -> list[dict[str, Any]]:
        """The rows of one commit: whatever arrives within `interval` of the first one, so
        commits stay a few per second at any rate (one per row cost more than the rows)."""
        # Waiting without a timeout: an idle writer is never woken (five times a second, it
        # was); `close` wakes it with _WAKE.
        first = self._queue.get()
        if first is _WAKE:
            self._queue.task_done()
            return []
        rows = [first]
        # Asleep while the group gathers, not waiting on the queue: a writer waiting there
        # is woken by every row put, a thread switch per assessment on its request's path.
        self._stopping.wait(self._interval)
        while len(rows) < self._batch:
            try:
                row = self._queue.get_nowait()
            except queue.Empty:
                break
            if row is _WAKE:
                self._queue.task_done()
                break
            rows.append(row)
        return rows

    def _run(self) -> None:
        while not self._stopping.is_set():
            rows = self._take()
            if not rows:
                continue
            while True:
                try:
                    with self._engine.begin() as connection:
                        connection.execute(_DECISIONS.insert(), rows)
                    break
                except Exception:  # the store is down: keep the rows, retry, let the queue fill
                    log.exception("recording %d decisions failed; retrying", len(rows))
                    if self._stopping.wait(1.0):
                        return
            for _ in rows:
                self._queue.task_done()
