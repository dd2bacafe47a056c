"""POST /admin/v1/unseal (custodians) and POST /admin/v1/commands (signed by an operator).

Neither is reachable through the edge, which sends only POST /v1/cards to the vault.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.contracts import OperatorCommandBody, UnsealStatus, UnsealSubmit
from vault.routes.common import json_object, services


async def unseal(request: Request) -> Response:
    # The component is the credential; a sealed vault answers this and health alone.
    vault = services(request, sealed_ok=True)
    body = UnsealSubmit.model_validate(await json_object(request))
    state = await run_in_threadpool(vault.unsealer.submit, body.custodian, body.component)
    status = UnsealStatus(sealed=state.sealed, progress=state.progress, threshold=state.threshold)
    return JSONResponse(status.model_dump())


async def command(request: Request) -> Response:
    vault = services(request)
    body = OperatorCommandBody.model_validate(await json_object(request))
    result = await run_in_threadpool(vault.operator.execute, body.payload, body.signature)
    return JSONResponse(result)
