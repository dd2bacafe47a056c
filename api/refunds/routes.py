"""/v1/refunds: create, list, retrieve."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import RefundCreate
from api.refunds.service import EXPANDABLE
from api.web.listing import LIST_PARAMETERS, expand_params, page_params, query, query_filter
from api.web.request import caller, expansions, path_id, read_body
from api.web.respond import answer, answer_keyed
from api.web.state import services


async def create_refund(request: Request) -> JSONResponse:
    refunds, who = services(request).refunds, await caller(request)
    body, raw = await read_body(request, RefundCreate, EXPANDABLE)
    wanted = expansions(request, raw, EXPANDABLE)
    return await answer_keyed(
        request,
        who,
        raw,
        lambda seed: refunds.create(who.marketplace_id, body, seed, wanted),
        status=201,
    )


async def retrieve_refund(request: Request) -> JSONResponse:
    refunds, who = services(request).refunds, await caller(request)
    wanted = expand_params(query(request, "expand"), EXPANDABLE)
    return await answer(refunds.retrieve, who.marketplace_id, path_id(request), wanted)


async def list_refunds(request: Request) -> JSONResponse:
    refunds, who = services(request).refunds, await caller(request)
    params = query(request, *LIST_PARAMETERS, "charge")
    page, charge = page_params(params), query_filter(params, "charge")
    wanted = expand_params(params, EXPANDABLE, listing=True)
    return await answer(refunds.list, who.marketplace_id, page, charge, wanted, request.url.path)


routes = [
    Route("/v1/refunds", create_refund, methods=["POST"]),
    Route("/v1/refunds", list_refunds, methods=["GET"]),
    Route("/v1/refunds/{id}", retrieve_refund, methods=["GET"]),
]
