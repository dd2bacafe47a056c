"""Running a POST under its Idempotency-Key: the one place the contract is kept."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from api import idempotency
from api.idempotency import Secrets
from api.keys import Caller
from api.web.state import services
from api.web.threads import in_thread
from api.webhooks.deliveries import QUEUED
from servicekit import ServiceError, error_body

log = logging.getLogger("api.idempotency")

Operation = Callable[[str | None], dict[str, Any]]


@dataclass(frozen=True)
class Seed:
    """What a request under an Idempotency-Key names its objects by (`value`), and whether
    this is the key's first use: then nothing can exist under those names yet, and an
    operation need not look for what an earlier attempt made."""

    value: str
    first_use: bool
    # The key's finish, which the operation may let its outcome's write carry
    # (api.idempotency.Carried): the response is then kept with the outcome.
    carried: idempotency.Carried | None = None


SeededOperation = Callable[[Seed | None], dict[str, Any]]


def _outcome(run: SeededOperation, seed: Seed | None, status: int) -> idempotency.Stored:
    """The response to store and send, errors included (as a replay must repeat them)."""
    try:
        return idempotency.Stored(status, run(seed))
    except ServiceError as exc:
        return idempotency.Stored(exc.status_code, exc.body())
    except Exception:
        log.exception("request failed: %s", type(run).__name__)
        return idempotency.Stored(
            500, error_body("api_error", "internal_error", "An internal error occurred.")
        )


async def respond(
    request: Request,
    who: Caller,
    raw_body: dict[str, Any],
    run: Operation,
    status: int = 200,
    secrets: Secrets | None = None,
) -> JSONResponse:
    """Call this only once the request is authenticated and valid: nothing before is kept.

    `run` gets the claim's seed (None without a key) to derive the ids of what it creates.
    """
    return await respond_seeded(
        request,
        who,
        raw_body,
        lambda seed: run(None if seed is None else seed.value),
        status,
        secrets,
    )


async def respond_seeded(
    request: Request,
    who: Caller,
    raw_body: dict[str, Any],
    run: SeededOperation,
    status: int = 200,
    secrets: Secrets | None = None,
) -> JSONResponse:
    """`respond`, with `run` told whether the key is used for the first time (`Seed`).

    With `secrets`, an answer that shows a secret is kept under the key without it, and
    shown with it again on a replay: the key's stored answers hold no secret."""
    ctx = services(request)
    key = request.headers.get("idempotency-key")
    queued = QUEUED.count
    if key is None:
        try:
            body = await in_thread(run, None)
        finally:
            _wake(request, queued)  # a declined charge has its events too
        return JSONResponse(body, status_code=status)
    idempotency.check_key(key)
    digest = idempotency.request_hash(request.method, request.url.path, request.url.query, raw_body)
    # The process's lease (api.store.leases), if it keeps one: a retry after this process
    # dies takes the key over as soon as the lease lapses.
    owner = ctx.lease_owner
    sessions = ctx.sessions

    def keyed() -> tuple[idempotency.Stored, dict[str, str], bool]:
        """The claim, the request and the key's finish: one trip to a worker thread."""
        begun = idempotency.begin(sessions, who.marketplace_id, key, digest, None, owner)
        if isinstance(begun, idempotency.Stored):
            shown = begun if secrets is None else _through(secrets.shown, begun)
            return shown, {"idempotent-replayed": "true"}, False
        carried = idempotency.Carried(begun)
        stored = _outcome(run, Seed(begun.seed, begun.first_use, carried), status)
        if carried.kept is not None:  # kept with the outcome: the response is the stored one
            return carried.kept, {}, True
        if not idempotency.kept(stored):
            # No outcome yet: the merchant's retry with this key runs again (Stripe's SDKs
            # retry a POST on this header).
            idempotency.release(sessions, begun)
            return stored, {"stripe-should-retry": "true"}, True
        idempotency.finish(
            sessions, begun, stored if secrets is None else _through(secrets.kept, stored)
        )
        return stored, {}, True

    stored, headers, ran = await in_thread(keyed)
    if ran:
        _wake(request, queued)
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


def _through(
    change: Callable[[dict[str, Any]], dict[str, Any]], stored: idempotency.Stored
) -> idempotency.Stored:
    if stored.status >= 300:  # an error shows no secret
        return stored
    return idempotency.Stored(stored.status, change(stored.body))


def _wake(request: Request, queued: int) -> None:
    """A POST that queued webhooks (as its events were recorded, now committed): deliver
    them now rather than at the next poll. `queued` is the count before the POST ran."""
    worker = services(request).worker
    if worker is not None and QUEUED.count != queued:
        worker.wake()
