"""The edge under test: served by uvicorn on loopback, its upstreams a recording transport."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from edge_proxy.__main__ import server_options
from edge_proxy.app import create_app
from edge_proxy.config import Settings
from tests.helpers.servers import free_port

VAULT_URL = "http://vault.internal:8084"
ROUTER_URL = "http://router.internal:8081"

Reply = Callable[[httpx.Request], httpx.Response]


def reply(
    status: int = 200, body: bytes = b"{}", headers: list[tuple[str, str]] | None = None
) -> Reply:
    """A scripted upstream response; streamed, as a real upstream's is."""
    headers = headers if headers is not None else [("content-type", "application/json")]

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    return respond


def echo(request: httpx.Request) -> httpx.Response:
    """The default upstream: answers with the request's own body and content type."""
    content_type = request.headers.get("content-type", "application/json")
    body = request.content or b"{}"
    return reply(200, body, [("content-type", content_type)])(request)


class Upstreams:
    """The vault and the router as the edge reaches them: each request recorded, each
    answered by the reply set for that upstream (an echo by default)."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.replies: dict[str, Reply] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        name = request.url.host.split(".")[0]
        return self.replies.get(name, echo)(request)

    def reset(self) -> None:
        self.seen.clear()
        self.replies.clear()

    def only(self) -> httpx.Request:
        """The one request forwarded."""
        assert len(self.seen) == 1, [str(r.url) for r in self.seen]
        return self.seen[0]


@contextmanager
def serving_edge(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> Iterator[str]:
    """The edge served by uvicorn exactly as `python -m edge_proxy` serves it, in a thread."""
    app = create_app(settings, transport=transport)
    server = uvicorn.Server(uvicorn.Config(app, **server_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the edge did not start"
        time.sleep(0.01)
    try:
        yield f"http://{settings.host}:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def running_edge(upstreams: Upstreams | None = None, **settings: Any) -> Iterator[httpx.Client]:
    """A client of an edge served on a free port; the Host it sends is an API host."""
    settings.setdefault("vault_url", VAULT_URL)
    settings.setdefault("router_url", ROUTER_URL)
    settings.setdefault("port", free_port())
    transport = httpx.MockTransport(upstreams.handler) if upstreams is not None else None
    with (
        serving_edge(Settings(**settings), transport) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def module_upstreams() -> Upstreams:
    return Upstreams()


@pytest.fixture(scope="module")
def module_edge(module_upstreams: Upstreams) -> Iterator[httpx.Client]:
    with running_edge(module_upstreams) as client:
        yield client


@pytest.fixture
def upstreams(module_upstreams: Upstreams) -> Upstreams:
    module_upstreams.reset()
    return module_upstreams


@pytest.fixture
def edge(module_edge: httpx.Client, upstreams: Upstreams) -> httpx.Client:
    """A client of the module's edge, its upstreams' records cleared."""
    return module_edge
