"""POST /v1/assessments: an API stack asks whether a charge may run; POST /v1/approvals:
whether a charge held for review may now be captured (fraud/approvals.py)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fraud.approvals import approve
from fraud.contracts import ApprovalRequest, AssessmentRequest
from fraud.routes.common import caller_livemode, livemode_of
from fraud.routes.state import services
from fraud.services import Services
from servicekit.asgi import first_header, json_object_of, parse_json_object, send_json


class Assessments:
    """POST /v1/assessments, on every charge's path: a plain ASGI endpoint, without the
    Request and Response objects a Starlette function endpoint is wrapped in. What it
    raises reaches the app's exception handlers as any endpoint's does."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        svc: Services = scope["state"]["services"]
        livemode = livemode_of(first_header(scope, b"authorization") or "", svc.settings)
        body = AssessmentRequest.model_validate(await json_object_of(scope, receive))
        # On the loop, velocity awaited: a worker thread's hand-off cost a sixth of the CPU.
        result = await svc.assessor.assess_async(body, livemode)
        # Serialised by pydantic in one pass (model_dump then json.dumps walked it twice).
        await send_json(send, result.model_dump_json(exclude_none=True).encode())


async def approvals(request: Request) -> JSONResponse:
    svc = services(request)
    livemode = caller_livemode(request, svc.settings)
    body = ApprovalRequest.model_validate(await parse_json_object(request))
    actor = request.headers.get("strongroom-actor", "api")[:200]
    clearance = await run_in_threadpool(approve, svc.sessions, svc.assessor, body, livemode, actor)
    return JSONResponse({"object": "fraud.approval", "clearance": clearance.model_dump()})


routes = [
    Route("/v1/assessments", Assessments(), methods=["POST"]),
    Route("/v1/approvals", approvals, methods=["POST"]),
]
