"""POST /v1/cards (merchant key) and GET /internal/v1/cards/{id} (service credential)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.contracts import CardCreate, CardQuery
from vault.routes.common import json_object, services, single_query


async def create_card(request: Request) -> Response:
    vault = services(request)
    header = request.headers.get("authorization")
    merchant = await run_in_threadpool(vault.merchants.authenticate, header)
    body = CardCreate.model_validate(await json_object(request))
    card = await run_in_threadpool(vault.cards.tokenise, merchant, body)
    return JSONResponse(card.model_dump(), status_code=201)


async def card_metadata(request: Request) -> Response:
    vault = services(request)
    livemode = vault.credentials.livemode(request.headers.get("authorization"))
    query = CardQuery.model_validate(single_query(request))
    actor = f"service:{'live' if livemode else 'test'}"
    token = request.path_params["id"]
    card = await run_in_threadpool(vault.cards.metadata, actor, token, query.marketplace, livemode)
    return JSONResponse(card.model_dump())
