"""/v1/cards/{id}: what a merchant may read of a card token (never the number)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import Card
from api.ids import well_formed
from api.store.models import CustomerCard
from api.web.listing import query
from api.web.request import caller, path_id
from api.web.state import services
from servicekit import NotFound


async def retrieve_card(request: Request) -> JSONResponse:
    ctx = services(request)
    who = await caller(request)
    query(request)
    card_id = path_id(request)
    if not well_formed(card_id) or not card_id.startswith("card_"):
        raise NotFound(f"No such card: '{card_id[:64]}'.", param="id")

    def load() -> dict[str, Any]:
        card = ctx.vault.card(card_id, who.marketplace_id)  # 404 unless ours, of this mode
        with ctx.sessions() as session:
            customer = session.scalars(
                select(CustomerCard.customer_id).where(
                    CustomerCard.id == card.id, CustomerCard.marketplace_id == who.marketplace_id
                )
            ).first()
        return Card(
            id=card.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            fingerprint=card.fingerprint,
            customer=customer,
            livemode=card.livemode,
        ).model_dump(mode="json")

    return JSONResponse(await run_in_threadpool(load))


routes = [Route("/v1/cards/{id}", retrieve_card, methods=["GET"])]
