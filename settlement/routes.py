"""Capture, void, refund; the state of a charge or a refund (service credential: the mode)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from settlement.contracts import CaptureCreate, MarketplaceQuery, RefundCreate, VoidCreate
from settlement.ports import Credentials
from settlement.service import SettlementService
from vault.errors import NotFound
from vault.routes.common import json_object, single_query

_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


@dataclass(frozen=True, slots=True)
class Settling:
    """What these routes use, built by the app that mounts them (the vault's lifespan, as
    the state `settlement`)."""

    service: SettlementService
    credentials: Credentials


def _settling(request: Request) -> Settling:
    built: Settling = request.state.settlement
    return built


def _charge_id(request: Request) -> str:
    charge_id: str = request.path_params["id"]
    if not _ID.fullmatch(charge_id):
        raise NotFound("No such charge.", "charge_id")
    return charge_id


async def capture_charge(request: Request) -> Response:
    settling = _settling(request)
    livemode = settling.credentials.livemode(request.headers.get("authorization"))
    charge_id = _charge_id(request)
    body = CaptureCreate.model_validate(await json_object(request))
    result = await run_in_threadpool(
        settling.service.settle,
        livemode,
        charge_id,
        body.marketplace,
        "capture",
        body.amount,
        body.clearance,
    )
    return JSONResponse(result.model_dump(exclude_none=True))


async def void_charge(request: Request) -> Response:
    settling = _settling(request)
    livemode = settling.credentials.livemode(request.headers.get("authorization"))
    charge_id = _charge_id(request)
    body = VoidCreate.model_validate(await json_object(request))
    result = await run_in_threadpool(
        settling.service.settle, livemode, charge_id, body.marketplace, "void", 0
    )
    return JSONResponse(result.model_dump(exclude_none=True))


async def create_refund(request: Request) -> Response:
    settling = _settling(request)
    livemode = settling.credentials.livemode(request.headers.get("authorization"))
    body = RefundCreate.model_validate(await json_object(request))
    result = await run_in_threadpool(settling.service.refund, livemode, body)
    return JSONResponse(result.model_dump(exclude_none=True))


async def charge_state(request: Request) -> Response:
    settling = _settling(request)
    livemode = settling.credentials.livemode(request.headers.get("authorization"))
    charge_id = _charge_id(request)
    query = MarketplaceQuery.model_validate(single_query(request))
    state = await run_in_threadpool(settling.service.state, livemode, charge_id, query.marketplace)
    return JSONResponse(state.model_dump(exclude_none=True))


async def refund_state(request: Request) -> Response:
    settling = _settling(request)
    livemode = settling.credentials.livemode(request.headers.get("authorization"))
    refund_id: str = request.path_params["id"]
    if not _ID.fullmatch(refund_id):
        raise NotFound("No such refund.", "refund_id")
    query = MarketplaceQuery.model_validate(single_query(request))
    state = await run_in_threadpool(
        settling.service.refund_state, livemode, refund_id, query.marketplace
    )
    return JSONResponse(state.model_dump(exclude_none=True))


ROUTES = [
    Route("/internal/v1/charges/{id}", charge_state, methods=["GET"]),
    Route("/internal/v1/charges/{id}/capture", capture_charge, methods=["POST"]),
    Route("/internal/v1/charges/{id}/void", void_charge, methods=["POST"]),
    Route("/internal/v1/refunds", create_refund, methods=["POST"]),
    Route("/internal/v1/refunds/{id}", refund_state, methods=["GET"]),
]
