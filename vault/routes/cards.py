"""A card's way in and its metadata: POST /v1/cards and POST /v1/tokens (merchant key),
GET /internal/v1/cards/{id} (service credential).

POST /v1/tokens is Stripe's server-side tokenisation, `card[number]=…` in, a token out; the
token's id is the card token itself (card_…), so what a merchant gets back can be passed
as a charge's `source` or attached to a customer as it is.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.contracts import Card, CardCreate, CardQuery, Token
from vault.errors import VaultError
from vault.forms import FORM, read_form, typed_card
from vault.routes.common import JSON, body_type, parse_object, single_query
from vault.routes.state import Services, services
from vault.trusted import EDGE_CREDENTIAL_HEADER


async def card_fields(request: Request) -> dict[str, Any]:
    """The body, JSON or form as Stripe's SDKs send it, as a dict (a form's expiry already
    integers)."""
    kind = body_type(request, JSON, FORM)
    raw = await request.body()
    if kind == FORM:
        fields = read_form(raw)
        card = fields.get("card")
        if isinstance(card, dict):
            fields["card"] = typed_card(card)
        return typed_card(fields)
    return parse_object(raw)


def client_address(request: Request) -> str:
    """Whom to pace: the edge sets X-Forwarded-For to the one address it accepted the
    connection from (a client's own is dropped), and only the edge is believed, by its
    address and its credential (vault/trusted.py); any other caller is paced by its
    socket's address, whatever headers it sends."""
    peer = (request.client or ("-",))[0]
    edge = services(request).edge
    headers = request.headers
    return edge.client(peer, headers.get("x-forwarded-for"), headers.get(EDGE_CREDENTIAL_HEADER))


def tokenise(vault: Services, header: str | None, fields: dict[str, Any], client: str) -> Card:
    """One worker thread for the whole request: the pace, the key (401 before any 400)."""
    vault.pace.client.take(client)
    merchant = vault.merchants.authenticate(header)
    vault.pace.key.take(merchant.actor)
    return vault.cards.tokenise(merchant, CardCreate.model_validate(fields))


async def create_card(request: Request) -> Response:
    header = request.headers.get("authorization")
    fields = await card_fields(request)
    card = await run_in_threadpool(
        tokenise, services(request), header, fields, client_address(request)
    )
    return JSONResponse(card.model_dump(exclude_none=True), status_code=201)


async def create_token(request: Request) -> Response:
    header = request.headers.get("authorization")
    fields = await card_fields(request)
    card = fields.pop("card", None)
    if not isinstance(card, dict) or fields:
        # Only card tokens here: no bank accounts, PII or anything else Stripe tokenises.
        raise VaultError(code="parameter_invalid", message="Pass card[...] only.", param="card")
    made = await run_in_threadpool(
        tokenise, services(request), header, card, client_address(request)
    )
    token = Token(id=made.id, card=made, livemode=made.livemode, created=int(time.time()))
    # Stripe's token has every field (client_ip: null); only a fingerprint the caller may
    # not see is left out, as on /v1/cards.
    hidden = {"card": {"fingerprint"}} if made.fingerprint is None else None
    return JSONResponse(token.model_dump(exclude=hidden), status_code=201)


async def card_metadata(request: Request) -> Response:
    vault = services(request)
    livemode = vault.credentials.livemode(request.headers.get("authorization"))
    query = CardQuery.model_validate(single_query(request))
    actor = f"service:{'live' if livemode else 'test'}"
    token = request.path_params["id"]
    card = await run_in_threadpool(vault.cards.metadata, actor, token, query.marketplace, livemode)
    return JSONResponse(card.model_dump())
