"""What every route reads of its request: the caller, a clean body, a path's id."""

from __future__ import annotations

from collections.abc import Set
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from api.keys import Caller
from api.web.forms import typed
from api.web.listing import expand_params, query
from api.web.state import services
from servicekit import ServiceError
from servicekit.body import FORM, body_labels, media_type
from servicekit.body import read_body as body_object


async def caller(request: Request, *, secret: bool = True) -> Caller:
    """The caller of this request, by its Authorization header (api.web.callers)."""
    return await services(request).callers.resolve(
        request.headers.get("authorization"), secret=secret
    )


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
    content_type, encoding = body_labels(request.headers.getlist)
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


def expansions(request: Request, raw: dict[str, Any], allowed: set[str]) -> set[str]:
    """What a POST asks to expand, in its body (as the SDKs send it) or its query."""
    return expand_params(raw, allowed) | expand_params(query(request, "expand"), allowed)
