"""POST /v1/cards (merchant key) and GET /internal/v1/cards/{id} (service credential)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.contracts import CardQuery
from vault.routes.common import single_query
from vault.routes.state import services
from vault.routes.tokens import card_fields, client_address, tokenise


async def create_card(request: Request) -> Response:
    vault = services(request)
    header = request.headers.get("authorization")
    fields = await card_fields(request)  # JSON, or a form as Stripe's SDKs send it
    card = await run_in_threadpool(tokenise, vault, header, fields, client_address(request))
    return JSONResponse(card.model_dump(exclude_none=True), status_code=201)


async def card_metadata(request: Request) -> Response:
    vault = services(request)
    livemode = vault.credentials.livemode(request.headers.get("authorization"))
    query = CardQuery.model_validate(single_query(request))
    actor = f"service:{'live' if livemode else 'test'}"
    token = request.path_params["id"]
    card = await run_in_threadpool(vault.cards.metadata, actor, token, query.marketplace, livemode)
    return JSONResponse(card.model_dump())
