"""POST /v1/assessments: an API stack asks whether a charge may run; POST /v1/approvals:
whether a charge held for review may now be captured (fraud/approvals.py)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fraud.approvals import approve
from fraud.contracts import ApprovalRequest, AssessmentRequest
from fraud.routes.common import caller_livemode
from fraud.routes.state import services
from servicekit.asgi import parse_json_object


async def assessments(request: Request) -> Response:
    svc = services(request)
    livemode = caller_livemode(request, svc.settings)
    body = AssessmentRequest.model_validate(await parse_json_object(request))
    # On the loop, velocity awaited: a worker thread's hand-off cost a sixth of the CPU.
    result = await svc.assessor.assess_async(body, livemode)
    # Serialised by pydantic in one pass (model_dump then json.dumps walked it twice).
    return Response(result.model_dump_json(exclude_none=True), media_type="application/json")


async def approvals(request: Request) -> JSONResponse:
    svc = services(request)
    livemode = caller_livemode(request, svc.settings)
    body = ApprovalRequest.model_validate(await parse_json_object(request))
    actor = request.headers.get("strongroom-actor", "api")[:200]
    clearance = await run_in_threadpool(approve, svc.sessions, svc.assessor, body, livemode, actor)
    return JSONResponse({"object": "fraud.approval", "clearance": clearance.model_dump()})


routes = [
    Route("/v1/assessments", assessments, methods=["POST"]),
    Route("/v1/approvals", approvals, methods=["POST"]),
]
