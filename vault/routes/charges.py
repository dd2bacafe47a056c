"""POST /internal/v1/charges (service credential; the credential decides the mode)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.contracts import ChargeCreate
from vault.routes.common import json_object
from vault.routes.state import services


async def create_charge(request: Request) -> Response:
    vault = services(request)
    livemode = vault.credentials.livemode(request.headers.get("authorization"))
    body = ChargeCreate.model_validate(await json_object(request))
    result = await run_in_threadpool(vault.charges.charge, livemode, body)
    return JSONResponse(result.model_dump(exclude_none=True))
