"""/v1/fraud/*: the marketplace's fraud rules, settings and value lists, per mode, which
the fraud service keeps (api.fraud_rules.service forwards each call)."""

from __future__ import annotations

import re

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts.common import NoParameters
from api.contracts.fraud import (
    FraudRuleCreate,
    FraudRulesetCreate,
    FraudRulesetUpdate,
    FraudRuleUpdate,
    FraudSettingsUpdate,
    FraudValueListCreate,
    FraudValueListItemCreate,
)
from api.ids import well_formed
from api.keys import Caller
from api.web.idempotent import respond
from api.web.request import caller, path_id, read_body
from api.web.state import services
from api.web.threads import in_thread
from servicekit import NotFound

# What a merchant may add to say which person made a change: printable ASCII, short.
ACTOR = re.compile(r"[\x20-\x7e]{1,100}")


def actor(request: Request, who: Caller) -> str:
    """Who changed it: the kind of key, and the person the merchant names, if any."""
    named = request.headers.get("strongroom-actor", "")
    return f"{who.kind}_key" + (f" ({named})" if ACTOR.fullmatch(named) else "")


def _id(request: Request) -> str:
    """The path's id, only if it could be one: nothing else reaches the fraud service."""
    value = path_id(request)
    if not well_formed(value):
        raise NotFound(f"No such object: '{value}'.", param="id")
    return value


async def _forward(
    request: Request,
    method: str,
    path: str,
    model: type[BaseModel] | None = None,
    status: int = 200,
) -> JSONResponse:
    rules, who = services(request).fraud_rules, await caller(request)
    by = actor(request, who)
    if method == "GET":
        return JSONResponse(await in_thread(rules.read, who.marketplace_id, by, path))
    body, raw = await read_body(request, model or NoParameters)
    payload = body.model_dump(exclude_unset=True) if model else None
    return await respond(
        request,
        who,
        raw,
        lambda _: rules.change(who.marketplace_id, by, method, path, payload),
        status=status,
    )


async def list_rules(request: Request) -> JSONResponse:
    return await _forward(request, "GET", "/v1/fraud/rules")


async def create_rule(request: Request) -> JSONResponse:
    return await _forward(request, "POST", "/v1/fraud/rules", FraudRuleCreate, 201)


async def rule_history(request: Request) -> JSONResponse:
    return await _forward(request, "GET", "/v1/fraud/rule_history")


async def retrieve_rule(request: Request) -> JSONResponse:
    return await _forward(request, "GET", f"/v1/fraud/rules/{_id(request)}")


async def update_rule(request: Request) -> JSONResponse:
    return await _forward(request, "POST", f"/v1/fraud/rules/{_id(request)}", FraudRuleUpdate)


async def delete_rule(request: Request) -> JSONResponse:
    return await _forward(request, "DELETE", f"/v1/fraud/rules/{_id(request)}")


async def get_settings(request: Request) -> JSONResponse:
    return await _forward(request, "GET", "/v1/fraud/settings")


async def update_settings(request: Request) -> JSONResponse:
    return await _forward(request, "POST", "/v1/fraud/settings", FraudSettingsUpdate)


async def list_lists(request: Request) -> JSONResponse:
    return await _forward(request, "GET", "/v1/fraud/value_lists")


async def create_list(request: Request) -> JSONResponse:
    return await _forward(request, "POST", "/v1/fraud/value_lists", FraudValueListCreate, 201)


async def retrieve_list(request: Request) -> JSONResponse:
    return await _forward(request, "GET", f"/v1/fraud/value_lists/{_id(request)}")


async def delete_list(request: Request) -> JSONResponse:
    return await _forward(request, "DELETE", f"/v1/fraud/value_lists/{_id(request)}")


async def add_item(request: Request) -> JSONResponse:
    return await _forward(
        request, "POST", "/v1/fraud/value_list_items", FraudValueListItemCreate, 201
    )


async def remove_item(request: Request) -> JSONResponse:
    return await _forward(request, "DELETE", f"/v1/fraud/value_list_items/{_id(request)}")


async def list_rulesets(request: Request) -> JSONResponse:
    return await _forward(request, "GET", "/v1/fraud/rulesets")


async def create_ruleset(request: Request) -> JSONResponse:
    return await _forward(request, "POST", "/v1/fraud/rulesets", FraudRulesetCreate, 201)


async def retrieve_ruleset(request: Request) -> JSONResponse:
    return await _forward(request, "GET", f"/v1/fraud/rulesets/{_id(request)}")


async def update_ruleset(request: Request) -> JSONResponse:
    return await _forward(request, "POST", f"/v1/fraud/rulesets/{_id(request)}", FraudRulesetUpdate)


async def shadow_summary(request: Request) -> JSONResponse:
    return await _forward(request, "GET", f"/v1/fraud/rulesets/{_id(request)}/shadow")


routes = [
    Route("/v1/fraud/rules", list_rules, methods=["GET"]),
    Route("/v1/fraud/rules", create_rule, methods=["POST"]),
    Route("/v1/fraud/rule_history", rule_history, methods=["GET"]),
    Route("/v1/fraud/rules/{id}", retrieve_rule, methods=["GET"]),
    Route("/v1/fraud/rules/{id}", update_rule, methods=["POST"]),
    Route("/v1/fraud/rules/{id}", delete_rule, methods=["DELETE"]),
    Route("/v1/fraud/settings", get_settings, methods=["GET"]),
    Route("/v1/fraud/settings", update_settings, methods=["POST"]),
    Route("/v1/fraud/value_lists", list_lists, methods=["GET"]),
    Route("/v1/fraud/value_lists", create_list, methods=["POST"]),
    Route("/v1/fraud/value_lists/{id}", retrieve_list, methods=["GET"]),
    Route("/v1/fraud/value_lists/{id}", delete_list, methods=["DELETE"]),
    Route("/v1/fraud/value_list_items", add_item, methods=["POST"]),
    Route("/v1/fraud/value_list_items/{id}", remove_item, methods=["DELETE"]),
    Route("/v1/fraud/rulesets", list_rulesets, methods=["GET"]),
    Route("/v1/fraud/rulesets", create_ruleset, methods=["POST"]),
    Route("/v1/fraud/rulesets/{id}", retrieve_ruleset, methods=["GET"]),
    Route("/v1/fraud/rulesets/{id}", update_ruleset, methods=["POST"]),
    Route("/v1/fraud/rulesets/{id}/shadow", shadow_summary, methods=["GET"]),
]
