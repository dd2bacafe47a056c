"""The Starlette side of the shared layer: the error handlers, Stripe's headers, health."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.body import body_labels, read_json_body
from servicekit.errors import ServiceError, error_body, stripe_param
from servicekit.logs import REQUEST_ID

_REQUEST_ID = re.compile(r"req_[A-Za-z0-9]{8,64}")


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
    # Stripe's codes and words for a parameter missing or unknown; the rule broken otherwise.
    code, message = {
        "missing": ("parameter_missing", f"Missing required param: {param}."),
        "extra_forbidden": ("parameter_unknown", f"Received unknown parameter: {param}."),
    }.get(first["type"], ("parameter_invalid", first["msg"]))
    return error_response(400, "invalid_request_error", code, message, param)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The caller closed before its body was whole: no server error (nothing is logged as
    # one, no 5xx counted), and an answer nobody reads.
    return error_response(
        400, "invalid_request_error", "body_incomplete", "The body ended before its length."
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logging.getLogger("strongroom").exception("unhandled error on %s", request.url.path)
    return error_response(500, "api_error", "internal_error", "An internal error occurred.")


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    ServiceError: _service_error,
    HTTPException: _http_error,
    ValidationError: _validation_error,
    ClientDisconnect: _client_gone,
    Exception: _unexpected_error,
}


def first_header(scope: Scope, name: bytes) -> str | None:
    """The first `name` header (lower case) of a request, as Starlette's Headers.get reads it."""
    value = next((v for k, v in scope["headers"] if k == name), None)
    return None if value is None else value.decode("latin-1")


async def json_object_of(scope: Scope, receive: Receive) -> dict[str, Any]:
    """A plain ASGI endpoint's body, read as parse_json_object reads a Request's."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    labels = body_labels(Headers(scope=scope).getlist)
    return read_json_body(*labels, b"".join(chunks))


async def send_json(send: Send, content: bytes) -> None:
    """A plain ASGI endpoint's 200 answer of JSON `content`, with the headers Starlette's
    Response(content, media_type="application/json") sends."""
    headers = [(b"content-length", b"%d" % len(content)), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def parse_json_object(request: Request) -> dict[str, Any]:
    """The body as a strict JSON object (an internal service's body: JSON only)."""
    return read_json_body(*body_labels(request.headers.getlist), await request.body())


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
        # The id the logs of this request carry (servicekit.metrics.Observe), if Stripe's shape.
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


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": request.app.state.service_name})


def health_route() -> Route:
    return Route("/healthz", _health, methods=["GET"])
