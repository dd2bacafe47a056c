"""The completer: finishes every charge, capture, void and refund a request left unfinished.

A request that dies (a crash, a kill, an answer lost that the merchant never retries)
leaves its charge at a recovery point (api.charges.service) or its refund pending. Each
API process runs a completer thread that, every `completer_interval_seconds`, takes what
has stayed unfinished longer than `completer_stuck_after_seconds` and drives it on as the
merchant's retry would, from the vault's own record: a charge the vault executed is
recorded as it executed; one it never received is sent again under the same id (until
`completer_give_up_after_seconds`, after which it is failed, nothing charged); captures
and voids are asked again, which the vault replays and never redoes; a refund is read
from the vault's record and sent again only if the vault never received it.

Safe to run in every process at once, and beside the merchant's retries: every move is a
compare-and-set on the charge's revision, and the vault executes an id once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, bindparam, select

from api.charges import store as rows
from api.charges.service import (
    ASSESSED,
    CAPTURE_REQUESTED,
    STARTED,
    VAULT_CALLED,
    VOID_REQUESTED,
    ChargeService,
)
from api.refunds.service import RefundService
from api.store.db import statement
from api.store.models import Charge, Refund, utcnow
from api.webhooks.deliveries import QUEUED
from servicekit import ServiceError

log = logging.getLogger("api.completer")

# Whether any refund is pending since before the cutoff.
_ANY_STUCK_REFUND = (
    select(Refund.id)
    .where(Refund.status == "pending", Refund.created < bindparam("cutoff"))
    .limit(1)
)
UNFINISHED = (STARTED, ASSESSED, VAULT_CALLED, CAPTURE_REQUESTED, VOID_REQUESTED)
BATCH = 50


def complete_charges(
    charges: ChargeService,
    stuck_after: dt.timedelta,
    give_up_after: dt.timedelta,
    now: dt.datetime | None = None,
) -> int:
    """Drive on charges left at a recovery point longer than `stuck_after`; how many
    were finished (the others are tried again at the next pass)."""
    now = now or utcnow()
    engine: Engine = charges.sessions.kw["bind"]
    with statement(engine) as connection:  # a pass's one query, however idle
        stuck = rows.unfinished(connection, UNFINISHED, now - stuck_after, BATCH)
    finished = 0
    for charge in stuck:
        try:
            if charge.status == "pending":
                charges.resume(charge, give_up=_utc(charge.created) < now - give_up_after)
            else:
                charges.finish_settling(charge)
            finished += 1
        except ServiceError as exc:
            log.info("charge %s at %s not finished: %s", charge.id, charge.recovery_point, exc.code)
            _postpone(charges, charge, now)
    return finished


def _postpone(charges: ChargeService, charge: Charge, now: dt.datetime) -> None:
    """Try it again `stuck_after` from now, not at every pass: a charge the vault is still
    executing is asked about at that pace. Only the completer's clock moves (the revision
    does not), and only if nobody moved the charge meanwhile."""
    with statement(charges.sessions.kw["bind"]) as connection:
        rows.postpone(connection, charge, now)


def complete_refunds(
    refunds: RefundService, stuck_after: dt.timedelta, now: dt.datetime | None = None
) -> int:
    """Finish refunds pending longer than `stuck_after` from the vault's record of them
    (one it never received is sent again: it executes an id once); how many finished."""
    cutoff = (now or utcnow()) - stuck_after
    with statement(refunds.sessions.kw["bind"]) as connection:
        # Most passes find none: one statement built once, and no ORM session, says so.
        if connection.execute(_ANY_STUCK_REFUND, {"cutoff": cutoff}).first() is None:
            return 0
    with refunds.sessions() as session:
        pending = list(
            session.scalars(
                select(Refund)
                .where(Refund.status == "pending", Refund.created < cutoff)
                .order_by(Refund.created)
                .limit(BATCH)
            )
        )
    finished = 0
    for refund in pending:
        try:
            refunds.resume(refund)
            finished += 1
        except ServiceError as exc:
            log.info("refund %s not finished: %s", refund.id, exc.code)
    return finished


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Completer:
    """The thread that runs a completion pass every `interval` seconds."""

    def __init__(
        self,
        charges: ChargeService,
        refunds: RefundService,
        interval: float,
        stuck_after: dt.timedelta,
        give_up_after: dt.timedelta,
        queued: Callable[[], None] | None = None,
    ) -> None:
        # Told after a pass that queued webhooks (committed by then): the worker's wake.
        self.queued = queued
        self._charges = charges
        self._refunds = refunds
        self._interval = interval
        self._stuck_after = stuck_after
        self._give_up_after = give_up_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One pass over charges, then refunds; how many it finished."""
        done = complete_charges(self._charges, self._stuck_after, self._give_up_after)
        return done + complete_refunds(self._refunds, self._stuck_after)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="completer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            count = QUEUED.count
            try:
                self.run_once()
            except Exception:
                # The completer outlives any one failure (a database restart): the next
                # pass finds what this one left.
                log.exception("completion pass failed")
            if self.queued is not None and QUEUED.count != count:
                self.queued()
