"""/v1/fraud/*: the marketplace's fraud rules, settings, value lists and rulesets, per
mode, which the fraud service keeps (api.fraud_rules.service forwards each call).

The routes are made from api.openapi.FRAUD_OPS, so each takes the body and answers with
the model the published document names for it, and no route exists that it does not list.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts.common import NoParameters
from api.ids import well_formed
from api.keys import Caller
from api.openapi import FRAUD_OPS, Op
from api.presenters import body as json_body
from api.web.idempotent import respond
from api.web.request import caller, path_id, read_body
from api.web.state import services
from api.web.threads import in_thread
from servicekit import NotFound

# What a merchant may add to say which person made a change: printable ASCII, short.
ACTOR = re.compile(r"[\x20-\x7e]{1,100}")
PREFIX = "/v1/fraud/"


def actor(request: Request, who: Caller) -> str:
    """Who changed it: the kind of key, and the person the merchant names, if any."""
    named = request.headers.get("strongroom-actor", "")
    return f"{who.kind}_key" + (f" ({named})" if ACTOR.fullmatch(named) else "")


def _path(request: Request, template: str) -> str:
    """The fraud service's path: the template with the path's id, only if it could be one
    (nothing else reaches the fraud service)."""
    if "{id}" not in template:
        return template
    value = path_id(request)
    if not well_formed(value):
        raise NotFound(f"No such object: '{value}'.", param="id")
    return template.replace("{id}", value)


def _forward(op: Op) -> Callable[[Request], Awaitable[JSONResponse]]:
    method = op.method.upper()

    async def forward(request: Request) -> JSONResponse:
        rules, who = services(request).fraud_rules, await caller(request)
        path, by = _path(request, op.path), actor(request, who)
        if method == "GET":
            answer = await in_thread(rules.read, who.marketplace_id, by, path, op.response)
            return JSONResponse(json_body(answer))
        body, raw = await read_body(request, op.body or NoParameters)
        payload = body.model_dump(exclude_unset=True) if op.body else None
        return await respond(
            request,
            who,
            raw,
            lambda _: json_body(
                rules.change(who.marketplace_id, by, method, path, payload, op.response)
            ),
            status=op.status,
        )

    return forward


routes = [
    Route(op.path, _forward(op), methods=[op.method.upper()])
    for op in FRAUD_OPS
    if op.path.startswith(PREFIX)
]
