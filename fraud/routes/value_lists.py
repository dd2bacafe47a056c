"""/v1/fraud/value_lists and /v1/fraud/value_list_items, as Stripe's Radar lists."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fraud.contracts import ValueListCreate, ValueListItemCreate
from fraud.presenters import item_json, list_json
from fraud.routes.common import scope_of
from fraud.routes.state import services
from fraud.store import lists as store
from servicekit.asgi import parse_json_object


async def list_lists(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            rows = store.all_lists(session, scope.key)
            data = [list_json(r, scope.mode == "live") for r in rows]
        return {"object": "list", "data": data, "has_more": False}

    return JSONResponse(await run_in_threadpool(run))


async def create_list(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    body = ValueListCreate.model_validate(await parse_json_object(request))

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            row = store.create_list(
                session, scope.key, body.alias, body.name, body.item_type, scope.actor
            )
            return list_json(row, scope.mode == "live", [])

    return JSONResponse(await run_in_threadpool(run), status_code=201)


async def retrieve_list(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    list_id = request.path_params["id"]

    def load() -> dict[str, Any]:
        with svc.sessions() as session:
            row = store.get_list(session, scope.key, list_id)
            return list_json(row, scope.mode == "live", store.items(session, row))

    return JSONResponse(await run_in_threadpool(load))


async def delete_list(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    list_id = request.path_params["id"]

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            store.delete_list(session, scope.key, list_id)
        return {"id": list_id, "object": "fraud.value_list", "deleted": True}

    return JSONResponse(await run_in_threadpool(run))


async def add_item(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    body = ValueListItemCreate.model_validate(await parse_json_object(request))

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            item = store.add_item(session, scope.key, body.value_list, body.value, scope.actor)
            return item_json(item, scope.mode == "live")

    return JSONResponse(await run_in_threadpool(run), status_code=201)


async def remove_item(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    item_id = request.path_params["id"]

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            store.remove_item(session, scope.key, item_id)
        return {"id": item_id, "object": "fraud.value_list_item", "deleted": True}

    return JSONResponse(await run_in_threadpool(run))


routes = [
    Route("/v1/fraud/value_lists", list_lists, methods=["GET"]),
    Route("/v1/fraud/value_lists", create_list, methods=["POST"]),
    Route("/v1/fraud/value_lists/{id}", retrieve_list, methods=["GET"]),
    Route("/v1/fraud/value_lists/{id}", delete_list, methods=["DELETE"]),
    Route("/v1/fraud/value_list_items", add_item, methods=["POST"]),
    Route("/v1/fraud/value_list_items/{id}", remove_item, methods=["DELETE"]),
]
