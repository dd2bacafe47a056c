"""/v1/events, the record of what changed, newest first; /v1/webhook_endpoints; and
/v1/webhook_deliveries (the dead-letter list, redelivery)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import (
    NoParameters,
    WebhookEndpointCreate,
    WebhookEndpointRoll,
    WebhookEndpointUpdate,
)
from api.domain.states import DELIVERY_STATUSES, EVENT_TYPES
from api.web.listing import LIST_PARAMETERS, page_params, query, query_filter
from api.web.request import caller, path_id, read_body
from api.web.respond import answer, answer_keyed
from api.web.state import services

# An event type, or every type of a resource as Stripe's lists take it: `charge.*`.
EVENT_TYPE_FILTERS = (
    *EVENT_TYPES,
    *sorted({f"{event_type.split('.')[0]}.*" for event_type in EVENT_TYPES}),
)


async def list_events(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    params = query(request, *LIST_PARAMETERS, "type")
    page, type_ = page_params(params), query_filter(params, "type", EVENT_TYPE_FILTERS)
    return await answer(webhooks.events, who.marketplace_id, page, type_, request.url.path)


async def retrieve_event(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    query(request)
    return await answer(webhooks.event, who.marketplace_id, path_id(request))


async def create_endpoint(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    body, raw = await read_body(request, WebhookEndpointCreate)
    webhooks.refuse_insecure(body.url)
    return await answer_keyed(
        request,
        who,
        raw,
        lambda seed: webhooks.create(who.marketplace_id, body, seed),
        201,
        webhooks.secrets,
    )


async def retrieve_endpoint(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    query(request)
    return await answer(webhooks.endpoint, who.marketplace_id, path_id(request))


async def list_endpoints(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    page = page_params(query(request, *LIST_PARAMETERS))
    return await answer(webhooks.endpoints, who.marketplace_id, page, request.url.path)


async def update_endpoint(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    body, raw = await read_body(request, WebhookEndpointUpdate)
    webhooks.refuse_insecure(body.url)
    endpoint_id = path_id(request)
    return await answer_keyed(
        request, who, raw, lambda _: webhooks.update(who.marketplace_id, endpoint_id, body)
    )


async def roll_secret(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    body, raw = await read_body(request, WebhookEndpointRoll)
    endpoint_id = path_id(request)
    return await answer_keyed(
        request,
        who,
        raw,
        lambda _: webhooks.roll(who.marketplace_id, endpoint_id, body),
        secrets=webhooks.secrets,
    )


async def delete_endpoint(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    return await answer(webhooks.delete, who.marketplace_id, path_id(request))


async def list_deliveries(request: Request) -> JSONResponse:
    """Filter by `endpoint`, `event` and `status`; `status=dead` is the dead-letter list."""
    webhooks, who = services(request).webhooks, await caller(request)
    params = query(request, *LIST_PARAMETERS, "endpoint", "event", "status")
    page = page_params(params)
    endpoint, event = query_filter(params, "endpoint"), query_filter(params, "event")
    status = query_filter(params, "status", DELIVERY_STATUSES)
    return await answer(
        webhooks.deliveries, who.marketplace_id, page, endpoint, event, status, request.url.path
    )


async def retrieve_delivery(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    query(request)
    return await answer(webhooks.delivery, who.marketplace_id, path_id(request))


async def retry_delivery(request: Request) -> JSONResponse:
    webhooks, who = services(request).webhooks, await caller(request)
    _, raw = await read_body(request, NoParameters)
    delivery_id = path_id(request)
    return await answer_keyed(
        request, who, raw, lambda _: webhooks.redeliver(who.marketplace_id, delivery_id)
    )


routes = [
    Route("/v1/events", list_events, methods=["GET"]),
    Route("/v1/events/{id}", retrieve_event, methods=["GET"]),
    Route("/v1/webhook_endpoints", create_endpoint, methods=["POST"]),
    Route("/v1/webhook_endpoints", list_endpoints, methods=["GET"]),
    Route("/v1/webhook_endpoints/{id}", retrieve_endpoint, methods=["GET"]),
    Route("/v1/webhook_endpoints/{id}", update_endpoint, methods=["POST"]),
    Route("/v1/webhook_endpoints/{id}", delete_endpoint, methods=["DELETE"]),
    Route("/v1/webhook_endpoints/{id}/roll", roll_secret, methods=["POST"]),
    Route("/v1/webhook_deliveries", list_deliveries, methods=["GET"]),
    Route("/v1/webhook_deliveries/{id}", retrieve_delivery, methods=["GET"]),
    Route("/v1/webhook_deliveries/{id}/retry", retry_delivery, methods=["POST"]),
]
