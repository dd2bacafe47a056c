"""POST /admin/v1/commands: operator commands signed with the operator's key.

Not reachable through the edge, which sends only POST /v1/cards to the vault.
"""

from __future__ import annotations

from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vault.contracts import Contract
from vault.routes.common import json_object
from vault_operator.service import OperatorService


class OperatorCommandBody(Contract):
    """POST /admin/v1/commands body: a command signed with the operator's key."""

    payload: str = Field(min_length=1, max_length=2048)
    signature: str = Field(min_length=1, max_length=128)


def _operator(request: Request) -> OperatorService:
    """The service the app that mounts these routes built (the vault's lifespan, as the
    state `operator`)."""
    built: OperatorService = request.state.operator
    return built


async def command(request: Request) -> Response:
    body = OperatorCommandBody.model_validate(await json_object(request))
    operator = _operator(request)
    result = await run_in_threadpool(operator.execute, body.payload, body.signature)
    return JSONResponse(result)


ROUTES = [Route("/admin/v1/commands", command, methods=["POST"])]
