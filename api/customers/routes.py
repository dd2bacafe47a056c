"""/v1/customers and their cards, as Stripe's `sources` and Strongroom's older `cards`;
/v1/cards/{id}, what a merchant may read of any card token (never the number)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import CardAttach, CustomerCreate, CustomerUpdate
from api.ids import well_formed
from api.web.listing import LIST_PARAMETERS, page_params, query, text_filter
from api.web.request import caller, path_id, read_body
from api.web.respond import answer, answer_keyed
from api.web.state import services
from servicekit import NotFound, ServiceError


async def create_customer(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    body, raw = await read_body(request, CustomerCreate)
    return await answer_keyed(
        request, who, raw, lambda seed: customers.create(who.marketplace_id, body, seed), status=201
    )


async def retrieve_customer(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    query(request, "expand")
    return await answer(customers.retrieve, who.marketplace_id, path_id(request))


async def list_customers(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    params = query(request, *LIST_PARAMETERS, "email")
    page, email = page_params(params), text_filter(params, "email", 512)
    return await answer(customers.list, who.marketplace_id, page, email, request.url.path)


async def update_customer(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    body, raw = await read_body(request, CustomerUpdate)
    customer_id = path_id(request)
    return await answer_keyed(
        request, who, raw, lambda _: customers.update(who.marketplace_id, customer_id, body)
    )


async def delete_customer(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    return await answer(customers.delete, who.marketplace_id, path_id(request))


async def attach_card(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    body, raw = await read_body(request, CardAttach)
    customer_id = path_id(request)
    return await answer_keyed(
        request,
        who,
        raw,
        lambda _: customers.attach(who.marketplace_id, customer_id, body.token),
        status=201,
    )


async def list_cards(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    params = query(request, *LIST_PARAMETERS, "object")
    if params.get("object", "card") != "card":
        raise ServiceError("Strongroom's sources are cards: object must be card.", param="object")
    page, customer_id = page_params(params), path_id(request)
    return await answer(customers.cards, who.marketplace_id, customer_id, page, request.url.path)


async def retrieve_card(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    query(request, "expand")
    customer_id, card_id = path_id(request), path_id(request, "card")
    return await answer(customers.card, who.marketplace_id, customer_id, card_id)


async def detach_card(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    customer_id, card_id = path_id(request), path_id(request, "card")
    return await answer(customers.detach, who.marketplace_id, customer_id, card_id)


async def retrieve_token_card(request: Request) -> JSONResponse:
    customers, who = services(request).customers, await caller(request)
    query(request)
    card_id = path_id(request)
    if not well_formed(card_id) or not card_id.startswith("card_"):
        raise NotFound(f"No such card: '{card_id[:64]}'.", param="id")
    return await answer(customers.token_card, who.marketplace_id, card_id)


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
    Route("/v1/cards/{id}", retrieve_token_card, methods=["GET"]),
]
