"""`create_app(settings)`: the edge as an ASGI app, assembled in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge_proxy.config import Settings
from edge_proxy.cors import CardsCors
from edge_proxy.detect import PanDetector
from edge_proxy.errors import (
    EdgeError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    handle_edge_error,
)
from edge_proxy.proxy import EdgeProxy
from edge_proxy.record import RequestRecord
from edge_proxy.upstream import make_client

SERVICE_NAME = "edge_proxy"

log = logging.getLogger("edge_proxy")

# Methods the edge forwards; TRACE, CONNECT and the like are refused (405).
FORWARDED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def health(request: Request) -> Response:
    """Answered by the edge itself, on any host."""
    return JSONResponse({"status": "ok", "service": SERVICE_NAME})


async def proxy(request: Request) -> Response:
    """Every request that is not the health check."""
    edge: EdgeProxy = request.app.state.edge
    try:
        return await edge.handle(request)
    except EdgeError:
        raise
    except Exception as exc:
        # Handled here, not by the server: its traceback would print a message that may
        # quote the request. Fail closed: nothing further is forwarded.
        log.error(
            "unexpected error: %s request_id=%s", type(exc).__name__, request.state.request_id
        )
        raise InternalError() from None


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no route, wrong method) in the edge's envelope."""
    assert isinstance(exc, HTTPException)
    error: EdgeError = MethodNotAllowed() if exc.status_code == 405 else NotFound()
    return await handle_edge_error(request, error)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """The edge's own bug: logged by type only (a message may quote input), nothing sent on."""
    request_id = getattr(request.state, "request_id", None)
    log.error("unexpected error: %s request_id=%s", type(exc).__name__, request_id)
    return await handle_edge_error(request, InternalError())


def create_app(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """The edge app. `transport` replaces the network under the upstream client (tests)."""
    detector = PanDetector()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with make_client(settings.upstream_timeout, transport) as client:
            app.state.edge = EdgeProxy(settings, client, detector)
            yield

    return Starlette(
        routes=[
            Route("/healthz", health, methods=["GET"]),
            Route("/{path:path}", proxy, methods=FORWARDED_METHODS),
        ],
        middleware=[
            Middleware(RequestRecord, detector=detector),
            Middleware(CardsCors, api_hosts=settings.api_hosts),
        ],
        exception_handlers={
            EdgeError: handle_edge_error,
            HTTPException: http_error,
            Exception: unexpected_error,
        },
        lifespan=lifespan,
    )
