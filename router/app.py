"""The router: sends each API request to the test or the live stack by its key.

The mode is read from the key's prefix (sk_/pk_ + test_/live_), so the router needs no
database. Each stack has its own connection pool, admission gate, timeouts and health
(router.stacks): whatever the test stack suffers, live requests never wait for it.
Bodies stream through in both directions; nothing is buffered whole.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import importlib.util
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from router.config import Mode, Settings
from router.gate import Overloaded, RateLimited
from router.keys import KeyMalformed, KeyMissing, api_key, mode_of
from router.metrics import QueueDepth
from router.stacks import Stack
from strongroom.web.asgi import EXCEPTION_HANDLERS, error_response
from strongroom.web.metrics import HttpMetrics, Observe, metrics_listener

log = logging.getLogger("router")

# httpcore asks `import sniffio` on every request to learn the async library; without the
# package, each failed import searches sys.path again (a fifth of the router's CPU). None
# in sys.modules makes that import fail at once; asyncio is then assumed, as it is.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
# Readable without a key: the API's description of itself (served by the test stack).
PUBLIC = frozenset({("GET", "/v1/openapi.json")})


def _caller(request: Request) -> tuple[Mode, str] | Response:
    """The mode and an identity for the key's pace (a digest: the router keeps no key)."""
    header = request.headers.get("authorization")
    try:
        mode = mode_of(header)
    except KeyMissing:
        if (request.method, request.url.path) in PUBLIC:
            return "test", ""
        return error_response(
            401,
            "authentication_error",
            "missing_api_key",
            "No API key provided. Send it as 'Authorization: Bearer sk_test_…'.",
        )
    except KeyMalformed:
        return error_response(
            401, "authentication_error", "invalid_api_key", "The API key is not recognised."
        )
    return mode, hashlib.blake2b(api_key(header).encode(), digest_size=16).hexdigest()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


async def _forward(stack: Stack, request: Request) -> Response:
    # As received, byte for byte: the path still percent-encoded, headers undecoded.
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    headers = [
        (k, v) for k, v in request.scope["headers"] if k.decode("latin-1").lower() not in HOP_BY_HOP
    ]
    try:
        upstream = stack.client.build_request(
            request.method,
            httpx.URL(raw_path=raw_path + (b"?" + query if query else b"")),
            headers=headers,
            content=request.stream() if _has_body(request) else None,
        )
    except (httpx.InvalidURL, UnicodeError):
        return error_response(400, "invalid_request_error", "url_invalid", "Malformed URL.")
    try:
        response = await stack.client.send(upstream, stream=True)
    except httpx.TimeoutException:
        log.warning("%s stack timed out on %s %s", stack.mode, request.method, request.url.path)
        return error_response(
            504, "api_error", "upstream_timeout", f"The {stack.mode} stack did not answer in time."
        )
    except httpx.TransportError as exc:
        log.warning("%s stack unreachable: %s", stack.mode, type(exc).__name__)
        return error_response(
            502, "api_error", "upstream_unavailable", f"The {stack.mode} stack is unavailable."
        )

    return Relay(stack, response)


class Relay(StreamingResponse):
    """The upstream response, streamed; its permit and connection are given back exactly
    once when sending ends, however it ends (done, failed, or the client gone)."""

    def __init__(self, stack: Stack, upstream: httpx.Response) -> None:
        super().__init__((), status_code=upstream.status_code)
        self.raw_headers = [
            (k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        self._stack = stack
        self._upstream = upstream
        self._done = False

    async def release(self) -> None:
        if not self._done:
            self._done = True
            try:
                await self._upstream.aclose()
            finally:
                self._stack.gate.leave()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Sent directly, chunk by chunk as the stack sends them: no task watching for a
        # disconnect beside it (the server drops what is sent to a client that has gone).
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in self._upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await self.release()


@dataclass
class Context:
    """The two stacks, at `app.state.ctx`; the lifespan opens and closes them."""

    stacks: dict[Mode, Stack] = field(default_factory=dict)


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def forward(request: Request) -> Response:
    caller = _caller(request)
    if isinstance(caller, Response):
        return caller
    mode, key = caller
    stack = context(request).stacks[mode]
    if not await stack.available():
        return error_response(
            503, "api_error", "stack_unavailable", f"The {mode} stack is unavailable."
        )
    try:
        await stack.gate.enter(key)
    except RateLimited:
        limited = error_response(
            429,
            "invalid_request_error",
            "rate_limit",
            f"Too many {mode}-mode requests with this key; slow down and retry.",
        )
        limited.headers["retry-after"] = "1"
        return limited
    except Overloaded:
        busy = error_response(
            503, "api_error", "stack_overloaded", f"The {mode} stack is busy; retry shortly."
        )
        busy.headers["retry-after"] = "1"
        return busy
    try:
        response = await _forward(stack, request)
    except BaseException:
        stack.gate.leave()
        raise
    if not isinstance(response, Relay):
        stack.gate.leave()  # answered here (an upstream failure): nothing to stream
    return response


async def health(request: Request) -> Response:
    return JSONResponse(
        {
            "status": "ok",
            "service": "router",
            "stacks": {mode: stack.status() for mode, stack in context(request).stacks.items()},
        }
    )


def create_app(settings: Settings) -> Starlette:
    ctx = Context()
    metrics = HttpMetrics()
    metrics.registry.register(QueueDepth(ctx.stacks))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stacks = ctx.stacks
        modes: tuple[Mode, ...] = ("test", "live")
        for mode in modes:
            stacks[mode] = Stack(mode, settings.stack(mode))
        # Everything built so far lives as long as the router: out of the collector's
        # sight, so that its full collections stay short (they pause every request).
        gc.freeze()
        watchers = [
            asyncio.create_task(
                stack.watch(settings.health_interval_seconds, settings.unhealthy_after)
            )
            for stack in stacks.values()
        ]
        with metrics_listener(metrics.registry, settings.metrics_host, settings.metrics_port):
            yield
        for watcher in watchers:
            watcher.cancel()
        for stack in stacks.values():
            await stack.close()

    # Every method reaches the stack, which knows its routes (and answers 405 with Allow).
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(
        routes=[
            Route("/healthz", health, methods=["GET"]),
            Route("/{path:path}", forward, methods=methods),
        ],
        middleware=[Middleware(Observe, metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.service_name = "router"
    app.state.ctx = ctx
    app.state.metrics = metrics
    return app
