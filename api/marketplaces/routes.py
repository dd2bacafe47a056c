"""/v1/marketplace, the caller's own marketplace as this mode sees it; and /admin/v1/…,
marketplaces and their keys, for the `strongroom` command of an operator.

The admin routes are authenticated by the stack's admin credential (API_ADMIN_CREDENTIAL);
with none set, every admin request is refused (fail closed). The router forwards only
requests bearing a merchant key, which is never the admin credential: these are reached on
the stack's own port alone.
"""

from __future__ import annotations

import hmac
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.contracts.admin import KeyRoll, MarketplaceCreate
from api.web.request import caller
from api.web.respond import answer
from api.web.state import services
from servicekit import AuthenticationError, ServiceError
from servicekit.asgi import parse_json_object

Body = TypeVar("Body", bound=BaseModel)


async def retrieve_marketplace(request: Request) -> JSONResponse:
    marketplaces, who = services(request).marketplaces, await caller(request)
    return await answer(marketplaces.retrieve, who.marketplace_id)


def _admin(request: Request) -> None:
    expected = services(request).settings.admin_credential
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # No credential configured: no admin request can be trusted, so none is served.
    if expected is None or scheme.lower() != "bearer":
        raise AuthenticationError("An admin credential is required.")
    if not hmac.compare_digest(given.strip().encode(), expected.get_secret_value().encode()):
        raise AuthenticationError("The admin credential is not valid.")


async def _body(request: Request, model: type[Body]) -> Body:
    """The JSON body (the `strongroom` command sends JSON only), read by the contract every
    body is (labelled JSON, strict, no duplicate key), its first error a 400."""
    try:
        return model.model_validate(await parse_json_object(request))
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise ServiceError(f"Invalid request: {first['msg']}.", param=param) from None


async def create_marketplace(request: Request) -> JSONResponse:
    _admin(request)
    body = await _body(request, MarketplaceCreate)
    return await answer(services(request).marketplaces.register, body, status=201)


async def list_marketplaces(request: Request) -> JSONResponse:
    _admin(request)
    return await answer(services(request).marketplaces.every)


async def roll_key(request: Request) -> JSONResponse:
    _admin(request)
    body = await _body(request, KeyRoll)
    return await answer(services(request).marketplaces.roll_key, body)


routes = [
    Route("/v1/marketplace", retrieve_marketplace, methods=["GET"]),
]
admin_routes = [
    Route("/admin/v1/marketplaces", create_marketplace, methods=["POST"]),
    Route("/admin/v1/marketplaces", list_marketplaces, methods=["GET"]),
    Route("/admin/v1/keys/roll", roll_key, methods=["POST"]),
]
