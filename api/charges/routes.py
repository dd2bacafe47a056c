"""/v1/charges: create, list, retrieve, update, capture, cancel."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api import idempotency
from api.card_errors import refused
from api.charges.reads import STATUSES
from api.contracts import ChargeCapture, ChargeCreate, ChargeUpdate
from api.contracts.common import NoParameters
from api.web.idempotent import Seed, respond, respond_seeded
from api.web.listing import (
    LIST_PARAMETERS,
    expand_params,
    listing,
    page_params,
    query,
    query_filter,
)
from api.web.request import caller, expansions, path_id, read_body
from api.web.state import services
from api.web.threads import in_thread

# `card` is Strongroom's older name of `source`.
EXPANDABLE = {"source", "card", "customer", "refunds"}
FILTERS = ("customer", "status")


async def create_charge(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, ChargeCreate, EXPANDABLE)
    wanted = expansions(request, raw, EXPANDABLE)

    def run(seed: Seed | None) -> dict[str, Any]:
        if seed is None:
            charge = ctx.charges.create(who.marketplace_id, body, None).shown()
        else:
            carried = None if wanted else seed.carried  # expanded: read after it is recorded
            if carried is not None:
                carried.answer = answer
            with idempotency.carrying(carried):  # the key is finished with the outcome
                created = ctx.charges.create(who.marketplace_id, body, seed.value, seed.first_use)
            charge = created.shown()
        declined = refused(charge)
        if declined is not None:
            raise declined  # stored with the key: a retry is told the same
        return ctx.charges.reads.expand(who.marketplace_id, charge, wanted)

    return await respond_seeded(request, who, raw, run, status=201)


def answer(charge: dict[str, Any]) -> idempotency.Stored:
    """What create_charge answers for a charge recorded as `charge` (its JSON), nothing
    expanded: kept under the request's key with the outcome itself."""
    declined = refused(charge)
    if declined is not None:
        return idempotency.Stored(declined.status_code, declined.body())
    return idempotency.Stored(201, charge)


async def retrieve_charge(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    wanted = expand_params(query(request, "expand"), EXPANDABLE)
    charge_id = path_id(request)

    def load() -> dict[str, Any]:
        charge = ctx.charges.retrieve(who.marketplace_id, charge_id).shown()
        return ctx.charges.reads.expand(who.marketplace_id, charge, wanted)

    return JSONResponse(await in_thread(load))


async def list_charges(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    params = query(request, *LIST_PARAMETERS, *FILTERS)
    page = page_params(params)
    wanted = expand_params(params, EXPANDABLE, listing=True)
    customer = query_filter(params, "customer")
    status = query_filter(params, "status", STATUSES)

    def load() -> dict[str, Any]:
        data, more = ctx.charges.reads.page(who.marketplace_id, page, customer, status, wanted)
        return listing(request, data, more)

    return JSONResponse(await in_thread(load))


async def update_charge(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, ChargeUpdate)
    charge_id = path_id(request)
    return await respond(
        request,
        who,
        raw,
        lambda _: ctx.charges.update(who.marketplace_id, charge_id, body).shown(),
    )


async def capture_charge(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, ChargeCapture, EXPANDABLE)
    wanted = expansions(request, raw, EXPANDABLE)
    charge_id = path_id(request)

    def run(seed: str | None) -> dict[str, Any]:
        charge = ctx.charges.capture(who.marketplace_id, charge_id, body, seed).shown()
        return ctx.charges.reads.expand(who.marketplace_id, charge, wanted)

    return await respond(request, who, raw, run)


async def cancel_charge(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    _, raw = await read_body(request, NoParameters)
    charge_id = path_id(request)
    return await respond(
        request,
        who,
        raw,
        lambda seed: ctx.charges.cancel(who.marketplace_id, charge_id, seed).shown(),
    )


routes = [
    Route("/v1/charges", create_charge, methods=["POST"]),
    Route("/v1/charges", list_charges, methods=["GET"]),
    Route("/v1/charges/{id}", retrieve_charge, methods=["GET"]),
    Route("/v1/charges/{id}", update_charge, methods=["POST"]),
    Route("/v1/charges/{id}/capture", capture_charge, methods=["POST"]),
    Route("/v1/charges/{id}/cancel", cancel_charge, methods=["POST"]),
]
