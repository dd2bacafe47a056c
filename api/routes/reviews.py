"""/v1/reviews: the queue of held charges, oldest first; approve captures, reject voids."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts.reviews import ReviewApprove, ReviewReject
from api.routes.idempotent import respond
from api.web.listing import listing, query, query_filter
from api.web.request import caller, path_id, read_body
from api.web.state import services
from servicekit import ServiceError

REASONS = ("rule", "score", "test_card")


async def list_reviews(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    params = query(request, "reason", "open", "limit")
    reason = query_filter(params, "reason", REASONS)
    state = query_filter(params, "open", ("true", "false"))
    raw = params.get("limit", "100")
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
        raise ServiceError("limit must be an integer from 1 to 100.", param="limit")

    def load() -> dict[str, Any]:
        data = ctx.charges.reviews.listing(who.marketplace_id, state != "false", reason, int(raw))
        return listing(request, data, False)

    return JSONResponse(await run_in_threadpool(load))


async def retrieve_review(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    review_id = path_id(request)
    body = await run_in_threadpool(ctx.charges.reviews.retrieve, who.marketplace_id, review_id)
    return JSONResponse(body)


async def approve_review(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    _, raw = await read_body(request, ReviewApprove)
    review_id = path_id(request)
    return await respond(
        request, who, raw, lambda _: ctx.charges.reviews.approve(who.marketplace_id, review_id)
    )


async def reject_review(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, ReviewReject)
    review_id = path_id(request)
    return await respond(
        request,
        who,
        raw,
        lambda _: ctx.charges.reviews.reject(who.marketplace_id, review_id, body.block_card),
    )


routes = [
    Route("/v1/reviews", list_reviews, methods=["GET"]),
    Route("/v1/reviews/{id}", retrieve_review, methods=["GET"]),
    Route("/v1/reviews/{id}/approve", approve_review, methods=["POST"]),
    Route("/v1/reviews/{id}/reject", reject_review, methods=["POST"]),
]
