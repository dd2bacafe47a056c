"""/v1/fraud/rules and /v1/fraud/settings: a marketplace's rules, per mode, versioned."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fraud.contracts import RuleCreate, RuleUpdate, ThresholdsUpdate
from fraud.presenters import change_json, rule_json, thresholds_json
from fraud.routes.common import scope_of
from fraud.routes.state import services
from fraud.rules.lint import lint_thresholds
from fraud.store import rules as store
from fraud.store.models import RuleChange
from fraud.store.scopes import scope_state
from servicekit.asgi import parse_json_object
from servicekit.errors import ServiceError


async def list_rules(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)

    def load() -> dict[str, Any]:
        with svc.sessions() as session:
            rows = store.live_rules(session, scope.key)
            version = scope_state(session, scope.key).version if rows else 0
            data = [rule_json(r, scope.mode == "live") for r in rows]
        return {"object": "list", "data": data, "ruleset_version": version, "has_more": False}

    return JSONResponse(await run_in_threadpool(load))


async def create_rule(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    body = RuleCreate.model_validate(await parse_json_object(request))

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            rule = store.create_rule(
                session, scope.key, body.predicate, body.description, scope.actor
            )
            session.flush()
            answer = rule_json(rule, scope.mode == "live")
            answer["warnings"] = store.lint(session, scope.key, rule)
            return answer

    return JSONResponse(await run_in_threadpool(run), status_code=201)


async def retrieve_rule(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    rule_id = request.path_params["id"]

    def load() -> dict[str, Any]:
        with svc.sessions() as session:
            return rule_json(store.get_rule(session, scope.key, rule_id), scope.mode == "live")

    return JSONResponse(await run_in_threadpool(load))


async def update_rule(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    body = RuleUpdate.model_validate(await parse_json_object(request))
    rule_id = request.path_params["id"]

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            rule = store.update_rule(
                session,
                scope.key,
                rule_id,
                scope.actor,
                predicate=body.predicate,
                enabled=body.enabled,
                description=body.description,
            )
            session.flush()
            answer = rule_json(rule, scope.mode == "live")
            answer["warnings"] = store.lint(session, scope.key, rule) if rule.enabled else []
            return answer

    return JSONResponse(await run_in_threadpool(run))


async def delete_rule(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    rule_id = request.path_params["id"]

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            rule = store.delete_rule(session, scope.key, rule_id, scope.actor)
            return rule_json(rule, scope.mode == "live")

    return JSONResponse(await run_in_threadpool(run))


async def rule_history(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)

    def load() -> dict[str, Any]:
        with svc.sessions() as session:
            data = [change_json(c) for c in store.history(session, scope.key)]
        return {"object": "list", "data": data, "has_more": False}

    return JSONResponse(await run_in_threadpool(load))


async def thresholds(request: Request) -> JSONResponse:
    svc, scope = services(request), scope_of(request)
    body = None
    if request.method == "POST":
        body = ThresholdsUpdate.model_validate(await parse_json_object(request))

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as session:
            state = scope_state(session, scope.key)
            if body is not None:
                given = body.model_dump(include=body.model_fields_set)
                for name in ("review_at", "block_at"):
                    if given.get(name, 0) is None:
                        raise ServiceError(f"{name} may not be null.", param=name)
                changed = {k: v for k, v in given.items() if getattr(state, k) != v}
                for name, value in given.items():
                    setattr(state, name, value)
                if state.review_at > state.block_at:
                    raise ServiceError("review_at may not exceed block_at.", param="review_at")
                if changed:
                    state.version += 1
                    session.add(
                        RuleChange(
                            scope=scope.key,
                            version=state.version,
                            rule_id=None,
                            change="settings",
                            predicate=" ".join(f"{k}={v}" for k, v in sorted(changed.items())),
                            enabled=None,
                            actor=scope.actor,
                        )
                    )
            answer = thresholds_json(state, scope.mode == "live")
            scoring = [
                r.predicate
                for r in store.live_rules(session, scope.key)
                if r.enabled and r.action == "score"
            ]
            answer["warnings"] = (
                lint_thresholds(scoring, state.review_at, state.block_at) if scoring else []
            )
            return answer

    return JSONResponse(await run_in_threadpool(run))


routes = [
    Route("/v1/fraud/rules", list_rules, methods=["GET"]),
    Route("/v1/fraud/rules", create_rule, methods=["POST"]),
    Route("/v1/fraud/rule_history", rule_history, methods=["GET"]),
    Route("/v1/fraud/rules/{id}", retrieve_rule, methods=["GET"]),
    Route("/v1/fraud/rules/{id}", update_rule, methods=["POST"]),
    Route("/v1/fraud/rules/{id}", delete_rule, methods=["DELETE"]),
    Route("/v1/fraud/settings", thresholds, methods=["GET", "POST"]),
]
