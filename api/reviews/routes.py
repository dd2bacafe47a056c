"""/v1/reviews: the queue of held charges, oldest first; approve captures, reject voids."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import ReviewApprove, ReviewReject
from api.domain.states import REVIEW_REASONS
from api.web.listing import query, query_filter
from api.web.request import caller, path_id, read_body
from api.web.respond import answer, answer_keyed
from api.web.state import services
from servicekit import ServiceError


async def list_reviews(request: Request) -> JSONResponse:
    reviews, who = services(request).reviews, await caller(request)
    params = query(request, "reason", "open", "limit")
    reason = query_filter(params, "reason", REVIEW_REASONS)
    state = query_filter(params, "open", ("true", "false"))
    raw = params.get("limit", "100")
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
        raise ServiceError("limit must be an integer from 1 to 100.", param="limit")
    open_only, url = state != "false", request.url.path
    return await answer(reviews.list, who.marketplace_id, open_only, reason, int(raw), url)


async def retrieve_review(request: Request) -> JSONResponse:
    reviews, who = services(request).reviews, await caller(request)
    return await answer(reviews.retrieve, who.marketplace_id, path_id(request))


async def approve_review(request: Request) -> JSONResponse:
    reviews, who = services(request).reviews, await caller(request)
    _, raw = await read_body(request, ReviewApprove)
    review_id = path_id(request)
    return await answer_keyed(
        request, who, raw, lambda _: reviews.approve(who.marketplace_id, review_id)
    )


async def reject_review(request: Request) -> JSONResponse:
    reviews, who = services(request).reviews, await caller(request)
    body, raw = await read_body(request, ReviewReject)
    review_id = path_id(request)
    return await answer_keyed(
        request,
        who,
        raw,
        lambda _: reviews.reject(who.marketplace_id, review_id, body.block_card),
    )


routes = [
    Route("/v1/reviews", list_reviews, methods=["GET"]),
    Route("/v1/reviews/{id}", retrieve_review, methods=["GET"]),
    Route("/v1/reviews/{id}/approve", approve_review, methods=["POST"]),
    Route("/v1/reviews/{id}/reject", reject_review, methods=["POST"]),
]
