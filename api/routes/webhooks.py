"""/v1/webhook_endpoints and /v1/webhook_deliveries (the dead-letter list, redelivery)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import WebhookEndpointCreate, WebhookEndpointUpdate
from api.contracts.common import NoParameters
from api.presenters import delivery_json, endpoint_json
from api.routes.idempotent import respond
from api.store.models import Event, WebhookDelivery, WebhookEndpoint
from api.store.queries import fetch_page, owned
from api.web.listing import (
    LIST_PARAMETERS,
    listing,
    page_params,
    query,
    query_filter,
)
from api.web.request import caller, path_id, read_body
from api.web.state import services

DELIVERY_STATUSES = ("pending", "succeeded", "dead")


async def create_endpoint(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, WebhookEndpointCreate)
    return await respond(
        request,
        who,
        raw,
        lambda seed: ctx.webhooks.create(who.marketplace_id, body, seed),
        status=201,
    )


async def retrieve_endpoint(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    query(request)
    endpoint_id = path_id(request)

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            row = owned(
                session, WebhookEndpoint, endpoint_id, who.marketplace_id, "id", "webhook endpoint"
            )
        return endpoint_json(row, ctx.livemode)

    return JSONResponse(await run_in_threadpool(load))


async def list_endpoints(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    page = page_params(query(request, *LIST_PARAMETERS))

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            rows, more = fetch_page(session, WebhookEndpoint, who.marketplace_id, page)
        return listing(request, [endpoint_json(r, ctx.livemode) for r in rows], more)

    return JSONResponse(await run_in_threadpool(load))


async def update_endpoint(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    body, raw = await read_body(request, WebhookEndpointUpdate)
    endpoint_id = path_id(request)
    return await respond(
        request, who, raw, lambda _: ctx.webhooks.update(who.marketplace_id, endpoint_id, body)
    )


async def roll_secret(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    _, raw = await read_body(request, NoParameters)
    endpoint_id = path_id(request)
    return await respond(
        request, who, raw, lambda _: ctx.webhooks.roll(who.marketplace_id, endpoint_id)
    )


async def delete_endpoint(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    endpoint_id = path_id(request)
    body = await run_in_threadpool(ctx.webhooks.delete, who.marketplace_id, endpoint_id)
    return JSONResponse(body)


async def list_deliveries(request: Request) -> JSONResponse:
    """Filter by `endpoint`, `event` and `status`; `status=dead` is the dead-letter list."""
    ctx = services(request)
    who = await caller(request)
    params = query(request, *LIST_PARAMETERS, "endpoint", "event", "status")
    page = page_params(params)
    endpoint = query_filter(params, "endpoint")
    event = query_filter(params, "event")
    status = query_filter(params, "status", DELIVERY_STATUSES)

    def load() -> dict[str, Any]:
        where = []
        if endpoint is not None:
            where.append(WebhookDelivery.endpoint_id == endpoint)
        if event is not None:
            where.append(WebhookDelivery.event_id == event)
        if status is not None:
            where.append(WebhookDelivery.status == status)
        with ctx.sessions() as session:
            rows, more = fetch_page(session, WebhookDelivery, who.marketplace_id, page, *where)
            found = session.execute(
                select(Event.id, Event.type).where(Event.id.in_([r.event_id for r in rows]))
            )
            types = {event_id: type_ for event_id, type_ in found.tuples()}
        data = [delivery_json(r, types[r.event_id], ctx.livemode) for r in rows]
        return listing(request, data, more)

    return JSONResponse(await run_in_threadpool(load))


async def retrieve_delivery(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    query(request)
    delivery_id = path_id(request)

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            row = owned(
                session, WebhookDelivery, delivery_id, who.marketplace_id, "id", "webhook delivery"
            )
            event = session.get_one(Event, row.event_id)
        return delivery_json(row, event.type, ctx.livemode)

    return JSONResponse(await run_in_threadpool(load))


async def retry_delivery(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    _, raw = await read_body(request, NoParameters)
    delivery_id = path_id(request)
    return await respond(
        request, who, raw, lambda _: ctx.webhooks.redeliver(who.marketplace_id, delivery_id)
    )


routes = [
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
