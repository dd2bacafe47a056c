"""/admin/v1/…: marketplaces and their keys, for the `strongroom` command of an operator.

Authenticated by the stack's admin credential (API_ADMIN_CREDENTIAL); with none set, every
admin request is refused (fail closed). The router forwards only requests bearing a merchant
key, which is never the admin credential: these are reached on the stack's own port alone.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import api.admin
from api.store.models import Marketplace
from api.web.state import services
from servicekit import AuthenticationError, ServiceError

ApiKey = Field(pattern=r"^(pk|sk)_(test|live)_[A-Za-z0-9_-]{16,200}$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MarketplaceCreate(_Body):
    id: str = Field(pattern=r"^mkt_[A-Za-z0-9]{1,60}$")
    name: str = Field(min_length=1, max_length=200)
    keys: list[str] = Field(min_length=1, max_length=4)


class KeyRoll(_Body):
    old_key: str = ApiKey
    new_key: str = ApiKey
    overlap_seconds: int = Field(ge=0, le=7 * 24 * 3600)


def _admin(request: Request) -> None:
    expected = services(request).settings.admin_credential
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # No credential configured: no admin request can be trusted, so none is served.
    if expected is None or scheme.lower() != "bearer":
        raise AuthenticationError("An admin credential is required.")
    if not hmac.compare_digest(given.strip().encode(), expected.get_secret_value().encode()):
        raise AuthenticationError("The admin credential is not valid.")


async def _body(request: Request, model: type[_Body]) -> Any:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise ServiceError(f"Invalid request: {first['msg']}.", param=param) from None


async def create_marketplace(request: Request) -> JSONResponse:
    _admin(request)
    body = await _body(request, MarketplaceCreate)
    settings = services(request).settings
    try:
        await run_in_threadpool(
            api.admin.register_marketplace, settings, body.id, body.name, body.keys
        )
    except ValueError as exc:
        raise ServiceError(str(exc), param="keys") from None
    except IntegrityError:
        raise ServiceError(
            "A marketplace with this id, or one of these keys, exists.",
            code="resource_exists",
            status_code=409,
        ) from None
    return JSONResponse({"id": body.id, "object": "marketplace", "name": body.name}, 201)


async def list_marketplaces(request: Request) -> JSONResponse:
    _admin(request)
    ctx = services(request)

    def load() -> list[dict[str, Any]]:
        with ctx.sessions() as session:
            rows = session.execute(select(Marketplace).order_by(Marketplace.created)).scalars()
            return [
                {"id": m.id, "object": "marketplace", "name": m.name, "created": _unix(m.created)}
                for m in rows
            ]

    return JSONResponse({"object": "list", "data": await run_in_threadpool(load)})


async def roll_key(request: Request) -> JSONResponse:
    _admin(request)
    body = await _body(request, KeyRoll)
    overlap = dt.timedelta(seconds=body.overlap_seconds)
    try:
        marketplace = await run_in_threadpool(
            api.admin.roll_key, services(request).settings, body.old_key, body.new_key, overlap
        )
    except ValueError as exc:
        raise ServiceError(str(exc), param="old_key") from None
    return JSONResponse({"marketplace": marketplace, "overlap_seconds": body.overlap_seconds})


def _unix(moment: dt.datetime) -> int:
    return int((moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp())


routes = [
    Route("/admin/v1/marketplaces", create_marketplace, methods=["POST"]),
    Route("/admin/v1/marketplaces", list_marketplaces, methods=["GET"]),
    Route("/admin/v1/keys/roll", roll_key, methods=["POST"]),
]
