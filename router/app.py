"""The router: sends each API request to the test or the live stack by its key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from router.config import Settings
from router.keys import KeyMalformed, KeyMissing, Mode, mode_of
from strongroom.web import EXCEPTION_HANDLERS, error_response, health_route

log = logging.getLogger("router")

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
        "content-length",
    }
)


def stack_client(base_url: str, timeout: float, max_connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=max_connections),
    )


def create_app(settings: Settings) -> Starlette:
    clients: dict[Mode, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        clients["test"] = stack_client(
            settings.test_url, settings.test_timeout_seconds, settings.test_max_connections
        )
        clients["live"] = stack_client(
            settings.live_url, settings.live_timeout_seconds, settings.live_max_connections
        )
        yield
        for client in clients.values():
            await client.aclose()

    async def forward(request: Request) -> Response:
        try:
            mode = mode_of(request.headers.get("authorization"))
        except KeyMissing:
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
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        client = clients[mode]
        upstream = client.build_request(
            request.method,
            httpx.URL(path=request.url.path, query=request.url.query.encode("ascii")),
            headers=headers,
            content=request.stream(),
        )
        try:
            response = await client.send(upstream, stream=True)
        except httpx.TimeoutException:
            log.warning("stack %s timed out on %s %s", mode, request.method, request.url.path)
            return error_response(
                504, "api_error", "upstream_timeout", f"The {mode} stack did not answer in time."
            )
        except httpx.TransportError as exc:
            log.warning("stack %s unreachable: %s", mode, type(exc).__name__)
            return error_response(
                502, "api_error", "upstream_unavailable", f"The {mode} stack is unavailable."
            )
        out_headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers=out_headers,
            background=BackgroundTask(response.aclose),
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[health_route(), Route("/{path:path}", forward, methods=methods)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.service_name = "router"
    return app
