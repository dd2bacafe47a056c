"""/v1/charges: create, list, retrieve, update, capture, cancel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.card_errors import refused
from api.contracts import Card, ChargeCapture, ChargeCreate, ChargeUpdate
from api.contracts.common import NoParameters
from api.presenters import charge_json, customer_json, refund_json
from api.routes.idempotent import Seed, respond, respond_seeded
from api.store.models import Charge, Customer, Refund
from api.store.queries import fetch_page
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

# `card` is Strongroom's older name of `source`.
EXPANDABLE = {"source", "card", "customer", "refunds"}
FILTERS = ("customer", "status")
STATUSES = ("succeeded", "pending", "failed")


def expand_charge(
    ctx: Services, marketplace_id: str, charge: dict[str, Any], wanted: set[str]
) -> dict[str, Any]:
    """Replace ids by the objects they name (runs in a worker thread)."""
    customer_id = charge["customer"]
    if "customer" in wanted and customer_id is not None:
        with ctx.sessions() as session:
            row = session.get(Customer, customer_id)
        if row is not None:
            charge["customer"] = customer_json(row, ctx.livemode)
    if "refunds" in wanted:
        with ctx.sessions() as session:
            refunds = session.scalars(
                select(Refund)
                .where(Refund.charge_id == charge["id"])
                .order_by(Refund.created.desc(), Refund.id.desc())
            ).all()
        charge["refunds"] = {
            "object": "list",
            "data": [refund_json(r, ctx.livemode) for r in refunds],
            "has_more": False,
            "url": f"/v1/refunds?charge={charge['id']}",
        }
    if wanted & {"source", "card"}:
        card = ctx.vault.card(charge["source"], marketplace_id)
        charge["source"] = Card(
            id=card.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=card.fingerprint,
            customer=customer_id,
            livemode=card.livemode,
        ).model_dump(mode="json")
    return charge


async def create_charge(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, ChargeCreate, EXPANDABLE)
    wanted = expansions(request, raw, EXPANDABLE)

    def run(seed: Seed | None) -> dict[str, Any]:
        if seed is None:
            charge = ctx.charges.create(who.marketplace_id, body, None).shown()
        else:
            created = ctx.charges.create(who.marketplace_id, body, seed.value, seed.first_use)
            charge = created.shown()
        declined = refused(charge)
        if declined is not None:
            raise declined  # stored with the key: a retry is told the same
        return expand_charge(ctx, who.marketplace_id, charge, wanted)

    return await respond_seeded(request, who, raw, run, status=201)


async def retrieve_charge(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    wanted = expand_params(query(request, "expand"), EXPANDABLE)
    charge_id = path_id(request)

    def load() -> dict[str, Any]:
        charge = ctx.charges.retrieve(who.marketplace_id, charge_id).shown()
        return expand_charge(ctx, who.marketplace_id, charge, wanted)

    return JSONResponse(await run_in_threadpool(load))


async def list_charges(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    params = query(request, *LIST_PARAMETERS, *FILTERS)
    page = page_params(params)
    wanted = expand_params(params, EXPANDABLE, listing=True)
    customer = query_filter(params, "customer")
    status = query_filter(params, "status", STATUSES)

    def load() -> dict[str, Any]:
        where = []
        if customer is not None:
            where.append(Charge.customer_id == customer)
        if status is not None:
            where.append(status_is(status))
        with ctx.sessions() as session:
            rows, more = fetch_page(session, Charge, who.marketplace_id, page, *where)
        data = [
            expand_charge(ctx, who.marketplace_id, charge_json(r, ctx.livemode), wanted)
            for r in rows
        ]
        return listing(request, data, more)

    return JSONResponse(await run_in_threadpool(load))


def status_is(status: str) -> ColumnElement[bool]:
    """Stripe's status, in terms of the stored one (see api.presenters.stripe_status)."""
    authorised = Charge.authorization_code.is_not(None)
    if status == "succeeded":
        return Charge.status.in_(("succeeded", "authorized")) | (
            (Charge.status == "canceled") & authorised
        )
    if status == "pending":
        return Charge.status.in_(("pending", "pending_review"))
    return Charge.status.in_(("failed", "blocked")) | ((Charge.status == "canceled") & ~authorised)


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
        return expand_charge(ctx, who.marketplace_id, charge, wanted)

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
