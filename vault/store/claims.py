"""Leases on unfinished work: which vault process executes a charge, settlement or refund.

A row is claimed `processing` with this process's id and a lease a few seconds long,
renewed each second while the process works on it. A row whose lease has lapsed was left
by a crash, or by a network that did not answer: the completer of any vault process takes
it over (a compare-and-set on the lease) and finishes it from the record, asking the card
network again under the same idempotency key. An outcome is recorded only by the row's
current holder, so a slow original and its successor can never both record one.
"""

from __future__ import annotations

import logging
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from vault.errors import VaultError
from vault.store.models import ChargeRecord, RefundRecord, SettlementRecord

Claimable = type[ChargeRecord] | type[SettlementRecord] | type[RefundRecord]
MODELS: tuple[Claimable, ...] = (ChargeRecord, SettlementRecord, RefundRecord)
T = TypeVar("T")


def _key(model: Claimable) -> Any:
    return model.refund_id if model is RefundRecord else model.charge_id


class Claims:
    """This process's leases: its id, their length and the rows it is working on now."""

    def __init__(self, lease: int) -> None:
        # Letters only: no run of digits that a scan for card data could mistake for one.
        self.owner = "".join(secrets.choice(string.ascii_lowercase) for _ in range(20))
        self.lease = lease
        self._held: dict[Claimable, set[str]] = {model: set() for model in MODELS}
        self._lock = threading.Lock()

    def wait(self, finished: Callable[[], T | None]) -> T | None:
        """`finished()` once it answers, polled for as long as a lease lasts (another
        request or process is working on the row, or its lease lapses and `finished`
        takes it over); None if it never did."""
        deadline = time.monotonic() + self.lease + 1
        while True:
            result = finished()
            if result is not None or time.monotonic() > deadline:
                return result
            time.sleep(0.1)

    def until(self) -> int:
        return int(time.time()) + self.lease

    @contextmanager
    def holding(self, model: Claimable, key: str) -> Iterator[None]:
        """Renew the row's lease while the block works on it (see `renew`)."""
        with self._lock:
            self._held[model].add(key)
        try:
            yield
        finally:
            with self._lock:
                self._held[model].discard(key)

    def held(self, model: Claimable, key: str) -> bool:
        with self._lock:
            return key in self._held[model]

    def renew(self, session: Session) -> None:
        """Extend the lease of every row this process is working on (each second)."""
        with self._lock:
            held = {model: list(keys) for model, keys in self._held.items() if keys}
        for model, keys in held.items():
            session.execute(
                update(model)
                .where(_key(model).in_(keys), model.claimed_by == self.owner)
                .values(lease_until=self.until())
            )

    def lapsed(self, session: Session, model: Claimable, limit: int = 100) -> list[str]:
        """Rows of `model` still processing whose lease has lapsed (none left by this
        process's own running requests)."""
        query = (
            select(_key(model))
            .where(model.status == "processing")
            .where(or_(model.lease_until.is_(None), model.lease_until < int(time.time())))
            .limit(limit)
        )
        return [key for key in session.scalars(query) if not self.held(model, key)]

    def finish_lapsed(
        self,
        sessions: sessionmaker[Session],
        model: Claimable,
        redrive: Callable[[str], object | None],
        what: str,
        log: logging.Logger,
    ) -> int:
        """Finish each lapsed row of `model` with `redrive`, which answers None when another
        holder took it or the network did not answer; a row it fails on is logged on `log`
        (as `what` and its key) and left for the next round. How many were finished."""
        with sessions() as session:
            lapsed = self.lapsed(session, model)
        done = 0
        for key in lapsed:
            try:
                done += redrive(key) is not None
            except VaultError as exc:
                log.error("%s %s not finished: %s", what, key, exc.code)
        return done

    def take(self, session: Session, model: Claimable, key: str) -> bool:
        """Take over a lapsed row; False if it is finished or another holder renewed it."""
        result = session.execute(
            update(model)
            .where(_key(model) == key, model.status == "processing")
            .where(or_(model.lease_until.is_(None), model.lease_until < int(time.time())))
            .values(claimed_by=self.owner, lease_until=self.until())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
