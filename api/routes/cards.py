"""/v1/cards/{id}: what a merchant may read of a card token (never the number)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import Card
from api.routes.common import Context, caller


async def retrieve_card(request: Request) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    who = await caller(request, secret=True)
    card = await run_in_threadpool(ctx.vault.card, request.path_params["id"], who.marketplace_id)
    out = Card(
        id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        fingerprint=card.fingerprint,
        livemode=card.livemode,
    )
    return JSONResponse(out.model_dump())


routes = [Route("/v1/cards/{id}", retrieve_card, methods=["GET"])]
