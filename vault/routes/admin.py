"""POST /admin/v1/commands: operator commands signed with the operator's key.

Not reachable through the edge, which sends only POST /v1/cards to the vault.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.contracts import OperatorCommandBody
from vault.routes.common import json_object
from vault.routes.state import services


async def command(request: Request) -> Response:
    vault = services(request)
    body = OperatorCommandBody.model_validate(await json_object(request))
    result = await run_in_threadpool(vault.operator.execute, body.payload, body.signature)
    return JSONResponse(result)
