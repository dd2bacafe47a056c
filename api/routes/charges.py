"""/v1/charges: create, retrieve, list."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts import ChargeCreate
from api.presenters import charge_json
from api.routes.common import Context, caller, page_params, scoped_page
from api.store.models import Charge
from strongroom.web import NotFound, parse_json_object


async def create_charge(request: Request) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    who = await caller(request, secret=True)
    body = ChargeCreate.model_validate(await parse_json_object(request))
    key = request.headers.get("idempotency-key")
    stored = await run_in_threadpool(ctx.charges.create_idempotent, who.marketplace_id, body, key)
    return JSONResponse(stored.body, status_code=stored.status)


async def retrieve_charge(request: Request) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    who = await caller(request, secret=True)
    charge_id = request.path_params["id"]

    def load() -> Charge | None:
        with ctx.sessions() as session:
            row = session.get(Charge, charge_id)
        # Another marketplace's charge, like the other mode's, simply does not exist here.
        return row if row is not None and row.marketplace_id == who.marketplace_id else None

    row = await run_in_threadpool(load)
    if row is None:
        raise NotFound(f"No such charge: '{charge_id}'.", param="id")
    return JSONResponse(charge_json(row, ctx.settings.livemode))


async def list_charges(request: Request) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    who = await caller(request, secret=True)
    limit, after = page_params(request)
    rows, has_more = await run_in_threadpool(
        scoped_page, ctx, Charge, who.marketplace_id, limit, after
    )
    data = [charge_json(r, ctx.settings.livemode) for r in rows]
    return JSONResponse({"object": "list", "data": data, "has_more": has_more})


routes = [
    Route("/v1/charges", create_charge, methods=["POST"]),
    Route("/v1/charges", list_charges, methods=["GET"]),
    Route("/v1/charges/{id}", retrieve_charge, methods=["GET"]),
]
