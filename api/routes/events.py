"""/v1/events: the record of what changed, newest first."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.presenters import event_json
from api.routes.common import Context, caller, page_params, scoped_page
from api.store.models import Event


async def list_events(request: Request) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    who = await caller(request, secret=True)
    limit, after = page_params(request)
    rows, has_more = await run_in_threadpool(
        scoped_page, ctx, Event, who.marketplace_id, limit, after
    )
    data = [event_json(r, ctx.settings.livemode) for r in rows]
    return JSONResponse({"object": "list", "data": data, "has_more": has_more})


routes = [Route("/v1/events", list_events, methods=["GET"])]
