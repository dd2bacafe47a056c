"""/v1/events: the record of what changed, newest first."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.domain.states import EVENT_TYPES
from api.presenters import event_json
from api.store.models import Event
from api.store.queries import fetch_page, owned
from api.web.listing import (
    LIST_PARAMETERS,
    listing,
    page_params,
    query,
    query_filter,
)
from api.web.request import caller, path_id
from api.web.state import services


async def list_events(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    params = query(request, *LIST_PARAMETERS, "type")
    page = page_params(params)
    type_ = query_filter(params, "type", EVENT_TYPES)

    def load() -> dict[str, Any]:
        where = [] if type_ is None else [Event.type == type_]
        with ctx.sessions() as session:
            rows, more = fetch_page(session, Event, who.marketplace_id, page, *where)
        return listing(request, [event_json(r, ctx.livemode) for r in rows], more)

    return JSONResponse(await run_in_threadpool(load))


async def retrieve_event(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    query(request)
    event_id = path_id(request)

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            row = owned(session, Event, event_id, who.marketplace_id, "id", "event")
        return event_json(row, ctx.livemode)

    return JSONResponse(await run_in_threadpool(load))


routes = [
    Route("/v1/events", list_events, methods=["GET"]),
    Route("/v1/events/{id}", retrieve_event, methods=["GET"]),
]
