"""/v1/fraud/rulesets: draft rulesets, run in shadow beside the live one, and where
their decisions differed."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fraud.contracts import DraftCreate, DraftUpdate
from fraud.presenters import draft_json
from fraud.routes.common import scope_of
from fraud.routes.state import services
from fraud.store import drafts as store
from servicekit.asgi import parse_json_object


async def list_drafts(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)

    def load() -> dict[str, Any]:
        with svc.sessions() as session:
            data = [
                draft_json(d, scope.mode == "live") for d in store.all_drafts(session, scope.key)
            ]
        return {"object": "list", "data": data, "has_more": False}

    return JSONResponse(await run_in_threadpool(load))


async def create_draft(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    body = DraftCreate.model_validate(await parse_json_object(request))

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            draft = store.create_draft(
                session, scope.key, body.name, body.rules, body.review_at, body.block_at,
                body.shadow, scope.actor,
            )  # fmt: skip
            return draft_json(draft, scope.mode == "live")

    return JSONResponse(await run_in_threadpool(run), status_code=201)


async def retrieve_draft(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    draft_id = request.path_params["id"]

    def load() -> dict[str, Any]:
        with svc.sessions() as session:
            return draft_json(store.get_draft(session, scope.key, draft_id), scope.mode == "live")

    return JSONResponse(await run_in_threadpool(load))


async def update_draft(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    body = DraftUpdate.model_validate(await parse_json_object(request))
    draft_id = request.path_params["id"]

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            draft = store.set_shadow(session, scope.key, draft_id, body.shadow)
            return draft_json(draft, scope.mode == "live")

    return JSONResponse(await run_in_threadpool(run))


async def shadow_summary(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    draft_id = request.path_params["id"]

    def load() -> dict[str, Any]:
        with svc.sessions() as session:
            return store.shadow_summary(session, scope.key, draft_id)

    return JSONResponse(await run_in_threadpool(load))


routes = [
    Route("/v1/fraud/rulesets", list_drafts, methods=["GET"]),
    Route("/v1/fraud/rulesets", create_draft, methods=["POST"]),
    Route("/v1/fraud/rulesets/{id}", retrieve_draft, methods=["GET"]),
    Route("/v1/fraud/rulesets/{id}", update_draft, methods=["POST"]),
    Route("/v1/fraud/rulesets/{id}/shadow", shadow_summary, methods=["GET"]),
]
