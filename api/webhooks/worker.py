"""The webhook worker: a thread in each API process, delivering its own stack's events.

Why a thread in the stack and not a process of its own: each stack then delivers its
own mode's events (a test-mode backlog can never delay a live webhook), needs no port,
credential or supervision of its own, and scales with the stack's workers. The threads
of all processes share the work through leases in the stack's database (deliveries.py).
Requests are served by the event loop and its thread pool; this thread only waits on I/O.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from api import idempotency
from api.presenters import event_json
from api.store.models import utcnow
from api.webhooks import deliveries, destinations, signing
from servicekit.tls import client_context

log = logging.getLogger("api.webhooks")

LEASE = dt.timedelta(seconds=60)  # longer than one attempt can take
HOUSEKEEPING_EVERY = 60.0


class WebhookWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        stack_secret: bytes,
        livemode: bool,
        policy: deliveries.RetryPolicy,
        *,
        timeout: float = 10.0,
        concurrency: int = 4,
        poll_seconds: float = 5.0,
        allow_private: bool = False,
        ca_file: Path | None = None,
        housekeeping: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._secret = stack_secret
        self._livemode = livemode
        self._policy = policy
        self._poll = poll_seconds
        self._allow_private = allow_private
        self._concurrency = concurrency
        self._housekeeping = housekeeping
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,  # a redirect could point anywhere: it counts as a failure
            trust_env=False,
            # Certificates are verified (an https:// destination's name, by SNI).
            verify=client_context(ca_file) if ca_file else True,
            headers={"user-agent": "Strongroom-Webhooks/1", "content-type": "application/json"},
        )
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="webhook")
        # One per attempt thread: the loop leases only as many deliveries as are free, and
        # a slow endpoint holds its one thread, not every other marketplace's deliveries.
        self._slots = threading.BoundedSemaphore(concurrency)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Told what each attempt ended as (succeeded, pending, dead): api.metrics counts.
        self.on_outcome: Callable[[str], None] = lambda outcome: None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(15)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        last_housekeeping = 0.0
        while not self._stop.is_set():
            queued = deliveries.QUEUED.count
            try:
                delivered = self._dispatch()
                if time.monotonic() - last_housekeeping > HOUSEKEEPING_EVERY:
                    last_housekeeping = time.monotonic()
                    idempotency.purge_expired(self._sessions)
                    if self._housekeeping is not None:
                        self._housekeeping()
            except Exception:
                # The worker outlives any one failure (a database restart, say): log, go on.
                log.exception("webhook worker pass failed")
                delivered = 0
            if not delivered and deliveries.QUEUED.count == queued:  # housekeeping queued none
                self._wake.wait(self._poll)
                self._wake.clear()

    def run_once(self) -> int:
        """Lease a batch of due deliveries and attempt each, all done on return; how many."""
        claimed = deliveries.claim_due(self._sessions, utcnow(), LEASE, self._concurrency * 4)
        list(self._pool.map(self._attempt, claimed))
        return len(claimed)

    def _dispatch(self) -> int:
        """Lease as many due deliveries as attempt threads are free and start each, not
        waiting for them (each wakes the loop as it ends); how many were started."""
        free = 0
        while free < self._concurrency and self._slots.acquire(blocking=False):
            free += 1
        claimed: list[str] = []
        try:
            if free:
                claimed = deliveries.claim_due(self._sessions, utcnow(), LEASE, free)
        finally:
            for _ in range(free - len(claimed)):
                self._slots.release()
        for delivery_id in claimed:
            self._pool.submit(self._attempt_freeing, delivery_id)
        return len(claimed)

    def _attempt_freeing(self, delivery_id: str) -> None:
        try:
            self._attempt(delivery_id)
        finally:
            self._slots.release()
            self._wake.set()  # a thread is free: look for more at once

    def _attempt(self, delivery_id: str) -> None:
        try:
            self._deliver(delivery_id)
        except Exception:
            # This delivery stays leased and is tried again once its lease lapses.
            log.exception("webhook %s: attempt failed", delivery_id)

    def _deliver(self, delivery_id: str) -> None:
        attempt = deliveries.load(self._sessions, delivery_id, utcnow())
        ok: bool
        status: int | None
        error: str | None
        if not attempt.deliverable:
            ok, status, error = False, None, "endpoint disabled or deleted"
        else:
            ok, status, error = self._post(attempt)
        outcome = deliveries.settle(
            self._sessions, delivery_id, ok, status, error, utcnow(), self._policy
        )
        self.on_outcome(outcome)
        log.info(
            "webhook %s event %s to %s: %s (%s)",
            delivery_id,
            attempt.event.id,
            attempt.endpoint_id,
            outcome,
            status or error,
        )

    def _post(self, attempt: deliveries.Attempt) -> tuple[bool, int | None, str | None]:
        try:
            destination = destinations.check(
                attempt.url, self._allow_private, https_only=self._livemode
            )
        except destinations.DestinationRefused as exc:
            return False, None, f"destination refused: {exc}"
        payload = json.dumps(event_json(attempt.event, self._livemode)).encode()
        versions = [attempt.secret_version]
        if attempt.previous_secret_version is not None:
            versions.append(attempt.previous_secret_version)
        secrets = [signing.endpoint_secret(self._secret, attempt.endpoint_id, v) for v in versions]
        header = signing.sign(secrets[0], int(time.time()), payload, *secrets[1:])
        try:
            headers = {signing.HEADER: header, signing.OLD_HEADER: header}
            if destination.host is not None:
                headers["host"] = destination.host
            # Streamed, and its body never read: the status decides, and an answer that
            # drips or never ends holds nothing up (the body is the merchant's anyway).
            with self._http.stream(
                "POST",
                destination.url,
                content=payload,
                headers=headers,
                extensions={"sni_hostname": destination.sni} if destination.sni else None,
            ) as response:
                status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, UnicodeError) as exc:
            # A bad URL or an unreachable host is this attempt's failure, nothing more.
            return False, None, type(exc).__name__
        ok = 200 <= status < 300
        return ok, status, None if ok else f"status {status}"
