"""What every route needs: the stack's context, the caller, a clean body, an id."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.clients.fraud import FraudClient
from api.clients.vault import VaultClient
from api.config import Settings
from api.forms import typed
from api.key_cache import KeyCache
from api.keys import Caller, key_digest, require_secret, resolve
from api.routes.listing import expand_params, query
from api.services.charges import ChargeService
from api.services.customers import CustomerService
from api.services.refunds import RefundService
from api.services.webhooks import WebhookService
from api.webhooks.worker import WebhookWorker
from servicekit import ServiceError
from servicekit.body import FORM, media_type
from servicekit.body import read_body as body_object


@dataclass
class Context:
    settings: Settings
    sessions: sessionmaker[Session]
    vault: VaultClient
    charges: ChargeService
    refunds: RefundService
    customers: CustomerService
    webhooks: WebhookService
    worker: WebhookWorker | None = None
    fraud: FraudClient | None = None
    keys: KeyCache = field(default_factory=KeyCache)

    @property
    def livemode(self) -> bool:
        return self.settings.livemode


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def caller(request: Request, *, secret: bool = True) -> Caller:
    ctx = context(request)
    settings = ctx.settings
    digest = key_digest(
        settings.key_hash_secret.get_secret_value(),
        settings.mode,
        request.headers.get("authorization"),
    )
    known = ctx.keys.get(digest)
    if known is not None:
        who = known.valid()
    else:

        def lookup() -> Caller:
            with ctx.sessions() as session:
                return resolve(session, digest, ctx.keys)

        who = await run_in_threadpool(lookup)
    if secret:
        require_secret(who)
    return who


def _refuse_unstorable(value: Any) -> None:
    """No NUL and no lone surrogate anywhere: neither can be stored, both are refused."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ServiceError("Text may not contain NUL characters.", code="body_invalid")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ServiceError("Text must be valid Unicode.", code="body_invalid") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unstorable(key)
            _refuse_unstorable(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_unstorable(item)


Model = TypeVar("Model", bound=BaseModel)


async def read_body(
    request: Request, model: type[Model], expandable: Set[str] = frozenset()
) -> tuple[Model, dict[str, Any]]:
    """The validated body, JSON or form, and the raw object (what an idempotency key is
    compared on). `expand` is every POST's parameter: checked here, read by expand_params."""
    content_type = request.headers.get("content-type")
    encoding = request.headers.get("content-encoding")
    raw_bytes = await request.body()
    raw = body_object(content_type, encoding, raw_bytes)
    _refuse_unstorable(raw)
    query(request, "expand")
    fields = {key: value for key, value in raw.items() if key != "expand"}
    expand_params(raw, set(expandable))
    if raw_bytes and media_type(content_type) == FORM:
        fields = typed(model, fields)
    return model.model_validate(fields), raw


def path_id(request: Request, name: str = "id") -> str:
    value: str = request.path_params[name]
    return value


def grouped(routes: list[Route]) -> list[Route]:
    """One route per path, dispatching by method: a 405 then names every allowed method."""
    handlers: dict[str, dict[str, Any]] = {}
    for route in routes:
        for method in route.methods or ():
            if method != "HEAD":
                handlers.setdefault(route.path, {})[method] = route.endpoint

    def dispatcher(table: dict[str, Any]) -> Any:
        async def dispatch(request: Request) -> Response:
            response: Response = await table[request.method](request)
            return response

        return dispatch

    return [Route(path, dispatcher(table), methods=list(table)) for path, table in handlers.items()]


def expansions(request: Request, raw: dict[str, Any], allowed: set[str]) -> set[str]:
    """What a POST asks to expand, in its body (as the SDKs send it) or its query."""
    return expand_params(raw, allowed) | expand_params(query(request, "expand"), allowed)
