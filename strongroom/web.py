"""What every app-zone service shares: the error envelope, health, logging and serving."""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.logs import REQUEST_ID
from strongroom.logs import configure_logging as configure_json

_REQUEST_ID = re.compile(r"req_[A-Za-z0-9]{8,64}")


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
        **extra: str,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.extra = extra  # Stripe's further fields of a card error: decline_code, charge
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        if type is not None:
            self.type = type

    def body(self) -> dict[str, dict[str, str]]:
        """This error in its envelope."""
        return error_body(self.type, self.code, self.message, self.param, **self.extra)


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
    type: str, code: str, message: str, param: str | None = None, **extra: str
) -> dict[str, dict[str, str]]:
    """The error envelope; `param` only when the error is about one field."""
    error = {"type": type, "code": code, "message": message}
    if param is not None:
        error["param"] = param
    return {"error": {**error, **extra}}


def error_response(
    status: int, type: str, code: str, message: str, param: str | None = None
) -> JSONResponse:
    return JSONResponse(error_body(type, code, message, param), status_code=status)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return JSONResponse(exc.body(), status_code=exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "resource_missing", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, "invalid_request_error", code, str(exc.detail))
    response.headers.update(exc.headers or {})  # a 405 names the methods that are allowed
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    first = exc.errors(include_input=False, include_url=False)[0]
    param = stripe_param([str(p) for p in first["loc"]])
    # The message names the field and the rule, never the value: a value may be card data.
    return error_response(400, "invalid_request_error", "parameter_invalid", first["msg"], param)


def stripe_param(path: list[str]) -> str | None:
    """A field's path as Stripe names it: `card[exp_month]`, `metadata[order]`."""
    if not path:
        return None
    return path[0] + "".join(f"[{p}]" for p in path[1:])


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
    """The body as a strict JSON object (an internal service's body: JSON only)."""
    from strongroom.body import read_json  # here: strongroom.body builds on this module

    raw = await request.body()
    return read_json(raw) if raw else {}


# Error statuses that the same request can never turn into a success.
_FINAL = frozenset({400, 401, 402, 403, 404, 405, 413, 415, 422})


class StripeHeaders:
    """`Request-Id` on every response, `Stripe-Should-Retry: false` where retrying is useless.

    Stripe's SDKs read both: the id into every error they raise, and the retry hint before
    their own rule (which would retry a 409). The id is the edge's, so logs of both match.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        # The id the logs of this request carry (strongroom.metrics.Observe), if Stripe's shape.
        logged = REQUEST_ID.get() or ""
        if _REQUEST_ID.fullmatch(given):
            request_id = given
        elif _REQUEST_ID.fullmatch(logged):
            request_id = logged
        else:
            request_id = "req_" + secrets.token_hex(12)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["request-id"] = request_id
                if message["status"] in _FINAL:
                    headers["stripe-should-retry"] = "false"
            await send(message)

        await self.app(scope, receive, with_headers)


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


def configure_logging(level: str = "INFO", service: str = "strongroom") -> None:
    """JSON lines on stderr (strongroom.logs); `strongroom up` sends them to the data dir."""
    configure_json(service, level)


def serve(
    app: Any,
    host: str,
    port: int,
    *,
    access_log: bool = False,
    tls_cert_file: Path | None = None,
    tls_key_file: Path | None = None,
) -> None:
    """Run an ASGI app with uvicorn on h11, whose parser refuses ambiguous framing; HTTPS
    when given a certificate and key. Requests are logged by strongroom.metrics.Observe,
    in the shared JSON schema, not by uvicorn's access log."""
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
        ssl_certfile=tls_cert_file,
        ssl_keyfile=tls_key_file,
    )
