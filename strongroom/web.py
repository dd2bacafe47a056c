"""What every app-zone service shares: the error envelope, health, logging and serving."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class ServiceError(Exception):
    """An error with its place in the `{"error": {...}}` envelope of DESIGN.md."""

    status_code = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        status_code: int | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        if type is not None:
            self.type = type


class AuthenticationError(ServiceError):
    status_code = 401
    type = "authentication_error"
    code = "invalid_api_key"


class NotFound(ServiceError):
    status_code = 404
    code = "resource_missing"


class UpstreamError(ServiceError):
    status_code = 502
    type = "api_error"
    code = "upstream_unavailable"


def error_body(
    type: str, code: str, message: str, param: str | None = None
) -> dict[str, dict[str, str]]:
    """The error envelope; `param` only when the error is about one field."""
    error = {"type": type, "code": code, "message": message}
    if param is not None:
        error["param"] = param
    return {"error": error}


def error_response(
    status: int, type: str, code: str, message: str, param: str | None = None
) -> JSONResponse:
    return JSONResponse(error_body(type, code, message, param), status_code=status)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return error_response(exc.status_code, exc.type, exc.code, exc.message, exc.param)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "resource_missing", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, "invalid_request_error", code, str(exc.detail))
    response.headers.update(exc.headers or {})  # a 405 names the methods that are allowed
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    first = exc.errors(include_input=False, include_url=False)[0]
    param = ".".join(str(p) for p in first["loc"]) or None
    # The message names the field and the rule, never the value: a value may be card data.
    return error_response(400, "invalid_request_error", "parameter_invalid", first["msg"], param)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logging.getLogger("strongroom").exception("unhandled error on %s", request.url.path)
    return error_response(500, "api_error", "internal_error", "An internal error occurred.")


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    ServiceError: _service_error,
    HTTPException: _http_error,
    ValidationError: _validation_error,
    Exception: _unexpected_error,
}


async def parse_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; duplicate keys are refused, not silently collapsed."""
    raw = await request.body()
    if not raw:
        return {}

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ServiceError("The JSON body has a duplicate key.", code="body_invalid")
        return dict(pairs)

    try:
        body = json.loads(raw, object_pairs_hook=no_duplicates)
    except (ValueError, UnicodeDecodeError):
        raise ServiceError("The body is not valid JSON.", code="body_invalid") from None
    if not isinstance(body, dict):
        raise ServiceError("The JSON body must be an object.", code="body_invalid")
    return body


class MalformedAuthorization(ValueError):
    """An Authorization header that carries no readable API key."""


def presented_api_key(authorization: str | None) -> str | None:
    """The key from `Bearer KEY` or HTTP Basic with the key as user name; None if absent."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise MalformedAuthorization from None
        return decoded.partition(":")[0]
    raise MalformedAuthorization


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": request.app.state.service_name})


def health_route() -> Route:
    return Route("/healthz", _health, methods=["GET"])


def configure_logging(level: str = "INFO") -> None:
    """One line per record on stderr; `strongroom up` sends it to the data dir's logs."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )


def serve(app: Any, host: str, port: int, *, access_log: bool = True) -> None:
    """Run an ASGI app with uvicorn on h11, whose parser refuses ambiguous framing."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        http="h11",
        loop="asyncio",
        access_log=access_log,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
