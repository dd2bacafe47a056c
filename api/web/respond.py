"""A route's answer: the resource its service returned, as its JSON body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from api.idempotency import Secrets
from api.keys import Caller
from api.presenters import body
from api.web.idempotent import respond
from api.web.threads import in_thread


async def answer(call: Callable[..., BaseModel], *args: Any, status: int = 200) -> JSONResponse:
    """A read (or a DELETE): the service's call, in a worker thread (it blocks on the
    database and the vault), and the resource it returns."""
    return JSONResponse(body(await in_thread(call, *args)), status_code=status)


async def answer_keyed(
    request: Request,
    who: Caller,
    raw_body: dict[str, Any],
    run: Callable[[str | None], BaseModel],
    status: int = 200,
    secrets: Secrets | None = None,
) -> JSONResponse:
    """A POST, under its Idempotency-Key if it has one (api.web.idempotent): `run` gets
    the key's seed, to derive the ids of what it creates, and returns the resource."""
    return await respond(
        request, who, raw_body, lambda seed: body(run(seed)), status=status, secrets=secrets
    )
