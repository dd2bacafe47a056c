"""/v1/marketplace: the caller's own marketplace, as this mode sees it."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.presenters import marketplace_json
from api.store.models import Marketplace
from api.web.request import caller
from api.web.state import services


async def retrieve_marketplace(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            row = session.get_one(Marketplace, who.marketplace_id)
        return marketplace_json(row, ctx.livemode)

    return JSONResponse(await run_in_threadpool(load))


routes = [Route("/v1/marketplace", retrieve_marketplace, methods=["GET"])]
