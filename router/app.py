"""The router: sends each API request to the test or the live stack by its key.

The mode is read from the key's prefix (sk_/pk_ + test_/live_), so the router needs no
database. Each stack has its own connection pool, admission gate, timeouts and health
(router.stacks): whatever the test stack suffers, live requests never wait for it.
Bodies stream through in both directions; nothing is buffered whole.

A proxy needs no routing table: the app is plain ASGI (two paths of its own, the rest
forwarded), under the shared metrics and request-log middleware. Its wiring is every
service's: the lifespan opens the stacks and yields them as lifespan state, and a request
reaches them through one typed accessor (`opened`).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from router.config import Mode, Settings
from router.gate import Overloaded, RateLimited
from router.keys import KeyMalformed, KeyMissing, api_key, mode_of
from router.metrics import QueueDepth
from router.stacks import Stack
from router.upstream import ClientGone, UpstreamError
from servicekit.asgi import error_response
from servicekit.metrics import HttpMetrics, Observe, metrics_listener

log = logging.getLogger("router")

# Not forwarded either way: they describe one connection, not the message. The stack is
# sent its own Host; a body's framing is the router's (router.upstream); and the router
# has taken the body already, so the stack is never asked to say 100 Continue.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"expect",
    }
)
# Every method reaches the stack, which knows its routes (and answers 405 with Allow).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Readable without a key: the API's description of itself (served by the test stack).
PUBLIC = frozenset({("GET", "/v1/openapi.json")})


@dataclass(frozen=True)
class _Route:
    """What the metrics read as the route template (servicekit.metrics)."""

    path: str


HEALTH = _Route("/healthz")
FORWARDED = _Route("/{path:path}")
# Set in the scope once the stack's answer has begun to go out.
ANSWERING = "router.answering"


def _error(status: int, type_: str, code: str, message: str, retry: bool = False) -> Response:
    response = error_response(status, type_, code, message)
    if retry:
        response.headers["retry-after"] = "1"
    return response


def _caller(method: str, path: str, authorization: str | None) -> tuple[Mode, str] | Response:
    """The mode and an identity for the key's pace (a digest: the router keeps no key)."""
    try:
        mode = mode_of(authorization)
    except KeyMissing:
        if (method, path) in PUBLIC:
            return "test", ""
        return _error(
            401,
            "authentication_error",
            "missing_api_key",
            "No API key provided. Send it as 'Authorization: Bearer sk_test_…'.",
        )
    except KeyMalformed:
        return _error(
            401, "authentication_error", "invalid_api_key", "The API key is not recognised."
        )
    return mode, hashlib.blake2b(api_key(authorization).encode(), digest_size=16).hexdigest()


async def _relay(stack: Stack, scope: Scope, receive: Receive, send: Send) -> None:
    """Forward the request to the stack as received and its answer back as it comes."""
    method: str = scope["method"]
    # As received, byte for byte: the path still percent-encoded, headers undecoded.
    target: bytes = scope.get("raw_path") or scope["path"].encode()
    if scope["query_string"]:
        target += b"?" + scope["query_string"]
    headers = []
    length = chunked = False
    for name, value in scope["headers"]:
        if name in HOP_BY_HOP:
            if name == b"transfer-encoding":
                chunked = True
            continue
        if name == b"content-length":
            length = value != b"0"
        headers.append((name, value))
    if chunked:
        headers.append((b"transfer-encoding", b"chunked"))
    upstream = stack.upstream
    try:
        answer = await upstream.send(
            method,
            upstream.head(method, target, headers),
            receive if chunked or length else None,
            chunked,
        )
    except UpstreamError as error:
        if error.kind == "timeout":
            log.warning("%s stack timed out on %s %s", stack.mode, method, scope["path"])
            response = _error(
                504,
                "api_error",
                "upstream_timeout",
                f"The {stack.mode} stack did not answer in time.",
            )
        else:
            log.warning("%s stack unavailable on %s %s", stack.mode, method, scope["path"])
            response = _error(
                502, "api_error", "upstream_unavailable", f"The {stack.mode} stack is unavailable."
            )
        await response(scope, receive, send)
        return
    except ClientGone:
        return
    # Sent directly, chunk by chunk as the stack sends them: no task watching for a
    # disconnect beside it (the server drops what is sent to a client that has gone).
    scope[ANSWERING] = True
    try:
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k, v) for k, v in answer.headers if k.lower() not in HOP_BY_HOP],
            }
        )
        more = True
        while more:
            body, more = await answer.chunk(upstream.timeout)
            await send({"type": "http.response.body", "body": body, "more_body": more})
    except UpstreamError as error:
        upstream.discard(answer)
        log.warning("%s stack's answer cut short (%s): closing", stack.mode, error.kind)
        raise  # the server closes the client's connection: the answer is incomplete
    except BaseException:
        upstream.discard(answer)
        raise
    upstream.release(answer)


@dataclass(frozen=True, slots=True)
class Stacks:
    """The stacks the lifespan opened, one per mode (lifespan state `router`)."""

    by_mode: dict[Mode, Stack]


def opened(scope: Scope) -> Stacks:
    """The stacks the lifespan opened, as a request reaches them."""
    built: Stacks = scope["state"]["router"]
    return built


class Router:
    """The ASGI app: /healthz, and every other request forwarded to its key's stack."""

    def __init__(self, settings: Settings, metrics: HttpMetrics) -> None:
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets: the server refuses the upgrade
        method, path = scope["method"], scope["path"]
        if path == "/healthz" and method in ("GET", "HEAD"):
            scope["route"] = HEALTH
            await self.health(opened(scope))(scope, receive, send)
            return
        scope["route"] = FORWARDED
        try:
            await self.forward(scope, receive, send)
        except UpstreamError:
            raise  # an answer cut short, logged where it was
        except Exception:
            log.exception("unhandled error on %s", path)
            if scope.get(ANSWERING):
                raise  # an answer already begun: the server closes the connection
            await _error(500, "api_error", "internal_error", "An internal error occurred.")(
                scope, receive, send
            )

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if method not in METHODS:
            refused = _error(
                405, "invalid_request_error", "method_not_allowed", "Method Not Allowed"
            )
            refused.headers["allow"] = ", ".join(sorted(METHODS))
            await refused(scope, receive, send)
            return
        given = [value for name, value in scope["headers"] if name == b"authorization"]
        # Which one counts? This router and the API read the first; a proxy or a log in
        # between may read the last. One request, one key and one idempotency key.
        if len(given) > 1:
            await _error(
                401,
                "authentication_error",
                "invalid_api_key",
                "Send one Authorization header, not several.",
            )(scope, receive, send)
            return
        if sum(name == b"idempotency-key" for name, _ in scope["headers"]) > 1:
            await _error(
                400,
                "invalid_request_error",
                "idempotency_key_invalid",
                "Send one Idempotency-Key header, not several.",
            )(scope, receive, send)
            return
        authorization = given[0].decode("latin-1") if given else None
        caller = _caller(method, path, authorization)
        if isinstance(caller, Response):
            await caller(scope, receive, send)
            return
        mode, key = caller
        stack = opened(scope).by_mode[mode]
        if not await stack.available():
            await _error(
                503, "api_error", "stack_unavailable", f"The {mode} stack is unavailable."
            )(scope, receive, send)
            return
        try:
            await stack.gate.enter(key)
        except RateLimited:
            limited = _error(
                429,
                "invalid_request_error",
                "rate_limit",
                f"Too many {mode}-mode requests with this key; slow down and retry.",
                retry=True,
            )
            await limited(scope, receive, send)
            return
        except Overloaded:
            busy = _error(
                503,
                "api_error",
                "stack_overloaded",
                f"The {mode} stack is busy; retry shortly.",
                retry=True,
            )
            await busy(scope, receive, send)
            return
        try:
            await _relay(stack, scope, receive, send)
        finally:
            stack.gate.leave()

    def health(self, stacks: Stacks) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "service": "router",
                "stacks": {mode: stack.status() for mode, stack in stacks.by_mode.items()},
            }
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[dict[str, Any]]:
        """The stacks open, their health watched, the metrics served: the lifespan state."""
        settings, metrics = self.settings, self.metrics
        modes: tuple[Mode, ...] = ("test", "live")
        stacks = Stacks({mode: Stack(mode, settings.stack(mode)) for mode in modes})
        # Everything built so far lives as long as the router: out of the collector's
        # sight, so that its full collections stay short (they pause every request).
        gc.freeze()
        watchers = [
            asyncio.create_task(
                stack.watch(settings.health_interval_seconds, settings.unhealthy_after)
            )
            for stack in stacks.by_mode.values()
        ]
        depth = QueueDepth(stacks.by_mode)
        metrics.registry.register(depth)
        try:
            with metrics_listener(metrics.registry, settings.metrics_host, settings.metrics_port):
                yield {"router": stacks}
        finally:
            metrics.registry.unregister(depth)
            for watcher in watchers:
                watcher.cancel()
            for stack in stacks.by_mode.values():
                await stack.close()

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with AsyncExitStack() as running:
            await receive()  # lifespan.startup
            try:
                if "state" not in scope:
                    raise RuntimeError("the server keeps no lifespan state")
                # The server copies it into every request's scope.
                scope["state"].update(await running.enter_async_context(self.running()))
            except BaseException as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                raise
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


def create_app(settings: Settings) -> ASGIApp:
    metrics = HttpMetrics()
    return Observe(Router(settings, metrics), metrics)
