"""/v1/customers and their cards, as Stripe's `sources` and Strongroom's older `cards`."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import CardAttach, CustomerCreate, CustomerUpdate
from api.presenters import customer_card_json, customer_json
from api.routes.idempotent import respond
from api.store.models import Customer, CustomerCard
from api.store.queries import fetch_page, owned
from api.web.listing import (
    LIST_PARAMETERS,
    listing,
    page_params,
    query,
    text_filter,
)
from api.web.request import caller, path_id, read_body
from api.web.state import services
from servicekit import NotFound, ServiceError


async def create_customer(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, CustomerCreate)
    return await respond(
        request,
        who,
        raw,
        lambda seed: ctx.customers.create(who.marketplace_id, body, seed),
        status=201,
    )


async def retrieve_customer(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    query(request, "expand")
    customer_id = path_id(request)

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            row = owned(session, Customer, customer_id, who.marketplace_id, "id", "customer")
        return customer_json(row, ctx.livemode)

    return JSONResponse(await run_in_threadpool(load))


async def list_customers(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    params = query(request, *LIST_PARAMETERS, "email")
    page = page_params(params)
    email = text_filter(params, "email", 512)

    def load() -> dict[str, Any]:
        where = [] if email is None else [Customer.email == email]
        with ctx.sessions() as session:
            rows, more = fetch_page(session, Customer, who.marketplace_id, page, *where)
        return listing(request, [customer_json(r, ctx.livemode) for r in rows], more)

    return JSONResponse(await run_in_threadpool(load))


async def update_customer(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, CustomerUpdate)
    customer_id = path_id(request)
    return await respond(
        request, who, raw, lambda _: ctx.customers.update(who.marketplace_id, customer_id, body)
    )


async def delete_customer(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    customer_id = path_id(request)
    body = await run_in_threadpool(ctx.customers.delete, who.marketplace_id, customer_id)
    return JSONResponse(body)


async def attach_card(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, CardAttach)
    customer_id = path_id(request)
    return await respond(
        request,
        who,
        raw,
        lambda _: ctx.customers.attach(who.marketplace_id, customer_id, body.token),
        status=201,
    )


async def list_cards(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    params = query(request, *LIST_PARAMETERS, "object")
    if params.get("object", "card") != "card":
        raise ServiceError("Strongroom's sources are cards: object must be card.", param="object")
    page = page_params(params)
    customer_id = path_id(request)

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            owned(session, Customer, customer_id, who.marketplace_id, "id", "customer")
            rows, more = fetch_page(
                session,
                CustomerCard,
                who.marketplace_id,
                page,
                CustomerCard.customer_id == customer_id,
            )
        return listing(request, [customer_card_json(r, ctx.livemode) for r in rows], more)

    return JSONResponse(await run_in_threadpool(load))


async def retrieve_card(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    query(request, "expand")
    customer_id, card_id = path_id(request), path_id(request, "card")

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            owned(session, Customer, customer_id, who.marketplace_id, "id", "customer")
            row = session.get(CustomerCard, card_id)
            if row is None or row.customer_id != customer_id:
                raise NotFound(f"Customer {customer_id} has no source '{card_id[:64]}'.")
        return customer_card_json(row, ctx.livemode)

    return JSONResponse(await run_in_threadpool(load))


async def detach_card(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    customer_id, card_id = path_id(request), path_id(request, "card")
    body = await run_in_threadpool(ctx.customers.detach, who.marketplace_id, customer_id, card_id)
    return JSONResponse(body)


routes = [
    Route("/v1/customers", create_customer, methods=["POST"]),
    Route("/v1/customers", list_customers, methods=["GET"]),
    Route("/v1/customers/{id}", retrieve_customer, methods=["GET"]),
    Route("/v1/customers/{id}", update_customer, methods=["POST"]),
    Route("/v1/customers/{id}", delete_customer, methods=["DELETE"]),
    *(
        route
        for kind in ("sources", "cards")
        for route in (
            Route(f"/v1/customers/{{id}}/{kind}", attach_card, methods=["POST"]),
            Route(f"/v1/customers/{{id}}/{kind}", list_cards, methods=["GET"]),
            Route(f"/v1/customers/{{id}}/{kind}/{{card}}", retrieve_card, methods=["GET"]),
            Route(f"/v1/customers/{{id}}/{kind}/{{card}}", detach_card, methods=["DELETE"]),
        )
    ),
]
