"""/v1/refunds: create, list, retrieve."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import RefundCreate
from api.presenters import charge_json, refund_json
from api.routes.idempotent import respond
from api.store.models import Charge, Refund
from api.store.queries import fetch_page, owned
from api.web.listing import (
    LIST_PARAMETERS,
    expand_params,
    listing,
    page_params,
    query,
    query_filter,
)
from api.web.request import caller, expansions, path_id, read_body
from api.web.state import Services, services
from servicekit import ServiceError

EXPANDABLE = {"charge"}


def expand_refund(ctx: Services, refund: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    if "charge" in wanted:
        with ctx.sessions() as session:
            charge = session.get_one(Charge, refund["charge"])
        refund["charge"] = charge_json(charge, ctx.livemode)
    return refund


def release(
    ctx: Services, marketplace_id: str, body: RefundCreate, seed: str | None, charge: Charge
) -> dict[str, Any]:
    """A refund of an uncaptured charge releases the whole authorisation, as in Stripe."""
    if body.amount is not None and body.amount != charge.amount:
        raise ServiceError(
            "An uncaptured charge is refunded in full (its authorisation released); "
            "capture part of it to keep the rest.",
            code="amount_invalid",
            param="amount",
        )
    ctx.charges.cancel(marketplace_id, charge.id)
    return ctx.refunds.record_release(marketplace_id, body, seed, charge)


async def create_refund(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, RefundCreate, EXPANDABLE)
    wanted = expansions(request, raw, EXPANDABLE)

    def run(seed: str | None) -> dict[str, Any]:
        with ctx.sessions() as session:
            charge = owned(session, Charge, body.charge, who.marketplace_id, "charge", "charge")
        if charge.status == "authorized":
            refund = release(ctx, who.marketplace_id, body, seed, charge)
        else:
            refund = ctx.refunds.create(who.marketplace_id, body, seed)
        return expand_refund(ctx, refund, wanted)

    return await respond(request, who, raw, run, status=201)


async def retrieve_refund(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    wanted = expand_params(query(request, "expand"), EXPANDABLE)
    refund_id = path_id(request)

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            row = owned(session, Refund, refund_id, who.marketplace_id, "id", "refund")
        return expand_refund(ctx, refund_json(row, ctx.livemode), wanted)

    return JSONResponse(await run_in_threadpool(load))


async def list_refunds(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    params = query(request, *LIST_PARAMETERS, "charge")
    page = page_params(params)
    wanted = expand_params(params, EXPANDABLE, listing=True)
    charge = query_filter(params, "charge")

    def load() -> dict[str, Any]:
        where = [] if charge is None else [Refund.charge_id == charge]
        with ctx.sessions() as session:
            rows, more = fetch_page(session, Refund, who.marketplace_id, page, *where)
        data = [expand_refund(ctx, refund_json(r, ctx.livemode), wanted) for r in rows]
        return listing(request, data, more)

    return JSONResponse(await run_in_threadpool(load))


routes = [
    Route("/v1/refunds", create_refund, methods=["POST"]),
    Route("/v1/refunds", list_refunds, methods=["GET"]),
    Route("/v1/refunds/{id}", retrieve_refund, methods=["GET"]),
]
