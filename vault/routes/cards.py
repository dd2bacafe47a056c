"""POST /v1/cards (merchant key) and GET /internal/v1/cards/{id} (service credential)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.contracts import Card, CardCreate, CardQuery
from vault.routes.common import parse_object, services, single_query
from vault.services import Services


async def create_card(request: Request) -> Response:
    vault = services(request)
    header = request.headers.get("authorization")
    raw = await request.body()
    # The edge sets X-Forwarded-For to the one address it accepted the connection from
    # (a client's own is dropped); a direct caller is paced by its socket's address.
    client = request.headers.get("x-forwarded-for") or (request.client or ("-",))[0]
    card = await run_in_threadpool(_tokenise, vault, header, raw, client)
    return JSONResponse(card.model_dump(exclude_none=True), status_code=201)


def _tokenise(vault: Services, header: str | None, raw: bytes, client: str) -> Card:
    # One worker thread for the whole request: the pace, the key (401 before any 400).
    vault.pace.client(client)
    merchant = vault.merchants.authenticate(header)
    vault.pace.key(merchant.actor)
    return vault.cards.tokenise(merchant, CardCreate.model_validate(parse_object(raw)))


async def card_metadata(request: Request) -> Response:
    vault = services(request)
    livemode = vault.credentials.livemode(request.headers.get("authorization"))
    query = CardQuery.model_validate(single_query(request))
    actor = f"service:{'live' if livemode else 'test'}"
    token = request.path_params["id"]
    card = await run_in_threadpool(vault.cards.metadata, actor, token, query.marketplace, livemode)
    return JSONResponse(card.model_dump())
