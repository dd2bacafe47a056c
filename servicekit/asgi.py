"""The Starlette side of the shared layer: the error handlers, Stripe's headers, health."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit import logs
from servicekit.body import read_json
from servicekit.errors import ServiceError, error_body, stripe_param
from servicekit.logs import REQUEST_ID
from servicekit.metrics import QUIET_ROUTES, HttpMetrics, access_log, request_id_of, route_template

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
    """The body as a strict JSON object (an internal service's body: JSON only)."""
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


Handler = Callable[[Request, Exception], Awaitable[Response]]


class Front:
    """servicekit.metrics.Observe and StripeHeaders as one layer, outermost (outside
    Starlette's own error layer), and the app's hot routes served without its router.

    Per request, as the two did: the request id for every log line (the edge's
    X-Request-Id when well-formed), `Request-Id` on the response (that id when it has
    Stripe's shape, else a fresh one), `Stripe-Should-Retry: false` on a final error, the
    RED metrics and the one `request` log line. One send wrapper instead of two, and one
    reading of the headers.

    A hot route (an exact method and path, no path parameters) is called straight: its
    endpoint gets a Request and returns a Response; an exception it raises is answered by
    the app's handler for it, as Starlette's layers would (HTTPException by status, then
    by class; anything else by the app's 500 handler, then raised on to the server so it
    is logged). The router, its matching and its per-request wrappers are skipped.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: HttpMetrics,
        hot: Iterable[Route] = (),
        handlers: dict[Any, Handler] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.hot: dict[tuple[str, str], Route] = {
            (method, route.path): route for route in hot for method in route.methods or ()
        }
        handlers = dict(handlers or {})
        self._error_handler = handlers.pop(Exception, None) or handlers.pop(500, None)
        self._status_handlers = {k: v for k, v in handlers.items() if isinstance(k, int)}
        self._class_handlers = {k: v for k, v in handlers.items() if isinstance(k, type)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        logged = request_id_of(scope)
        token = REQUEST_ID.set(logged)
        shown = logged if _REQUEST_ID.fullmatch(logged) else "req_" + secrets.token_hex(12)
        request_id = shown.encode("latin-1")
        started = time.perf_counter()
        status = 500  # an app that raised before answering: its server answers 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                final = status in _FINAL
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name != b"request-id" and not (final and name == b"stripe-should-retry")
                ]
                headers.append((b"request-id", request_id))
                if final:
                    headers.append((b"stripe-should-retry", b"false"))
                message["headers"] = headers
            await send(message)

        try:
            route = self.hot.get((scope["method"], scope["path"]))
            if route is None:
                await self.app(scope, receive, sent)
            else:
                await self._hot(route, scope, receive, sent)
        finally:
            seconds = time.perf_counter() - started
            route_name, method = route_template(scope), scope["method"]
            self.metrics.observe(route_name, method, status, seconds)
            level = logging.DEBUG if route_name in QUIET_ROUTES else logging.INFO
            if access_log.isEnabledFor(level):
                fields = {
                    "event": "request",
                    "method": method,
                    "route": route_name,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                }
                lines = logs.request_lines
                if lines is None:
                    access_log.log(level, "request", extra=fields)
                else:
                    lines.write(level, logged, fields)
            REQUEST_ID.reset(token)

    async def _hot(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        request = Request(scope, receive, send)
        try:
            response: Response = await route.endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is not None:
                response = await handler(request, exc)
            else:
                if self._error_handler is not None:
                    await (await self._error_handler(request, exc))(scope, receive, send)
                raise
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        if isinstance(exc, HTTPException) and exc.status_code in self._status_handlers:
            return self._status_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is not Exception and cls in self._class_handlers:
                return self._class_handlers[cls]
        return None


class FrontedApp(Starlette):
    """A Starlette app under servicekit's Front: its metrics, logs and Stripe's headers,
    and `hot` routes served straight (see Front). Its own `middleware` sit inside."""

    def __init__(self, *, metrics: HttpMetrics, hot: Iterable[Route] = (), **kwargs: Any):
        super().__init__(**kwargs)
        self._front_metrics = metrics
        self._hot_routes = list(hot)

    def build_middleware_stack(self) -> ASGIApp:
        return Front(
            super().build_middleware_stack(),
            self._front_metrics,
            self._hot_routes,
            self.exception_handlers,
        )


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": request.app.state.service_name})


def health_route() -> Route:
    return Route("/healthz", _health, methods=["GET"])
