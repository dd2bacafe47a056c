"""The edge under test: served on loopback in a thread, its upstreams fakes that record."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvloop

from edge_proxy.app import EdgeServer
from edge_proxy.config import Settings
from edge_proxy.flow import EdgeResponse, Headers
from edge_proxy.routing import Destination
from edge_proxy.wire.client import UpstreamError
from tests.helpers.servers import free_port

VAULT_URL = "http://vault.internal:8084"
ROUTER_URL = "http://router.internal:8081"

Reply = Callable[[httpx.Request], httpx.Response]


def reply(
    status: int = 200, body: bytes = b"{}", headers: list[tuple[str, str]] | None = None
) -> Reply:
    """A scripted upstream response."""
    headers = headers if headers is not None else [("content-type", "application/json")]

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    return respond


def echo(request: httpx.Request) -> httpx.Response:
    """The default upstream: answers with the request's own body and content type."""
    content_type = request.headers.get("content-type", "application/json")
    body = request.content or b"{}"
    return reply(200, body, [("content-type", content_type)])(request)


class FakeUpstream:
    """One upstream as the edge sees it: each request recorded (as an httpx.Request, for
    its handy accessors) and answered by `upstreams`."""

    def __init__(self, upstreams: Upstreams, base_url: str) -> None:
        self.upstreams = upstreams
        self.base_url = httpx.URL(base_url)

    async def send(self, method: str, target: bytes, headers: Headers, body: bytes) -> EdgeResponse:
        url = self.base_url.copy_with(raw_path=target)
        request = httpx.Request(method, url, headers=headers, content=body)
        try:
            response = self.upstreams.handler(request)
        except httpx.TimeoutException:
            raise UpstreamError("timeout") from None
        except httpx.HTTPError:
            raise UpstreamError("unavailable") from None
        content = b"".join(response.iter_raw())  # as sent: no decompression
        return EdgeResponse(response.status_code, list(response.headers.raw), content)


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

    def fakes(self) -> dict[Destination, FakeUpstream]:
        return {
            Destination.VAULT: FakeUpstream(self, VAULT_URL),
            Destination.ROUTER: FakeUpstream(self, ROUTER_URL),
        }


@contextmanager
def serving_edge(settings: Settings, upstreams: Upstreams | None = None) -> Iterator[str]:
    """The edge served exactly as `python -m edge_proxy` serves it, in a thread of its own.
    Without `upstreams` it reaches the real ones in the settings."""
    loop = uvloop.new_event_loop()  # the loop `python -m edge_proxy` runs on
    stop = asyncio.Event()
    started = threading.Event()
    failure: list[BaseException] = []

    async def run() -> None:
        try:
            fakes = upstreams.fakes() if upstreams is not None else None
            async with EdgeServer(settings, upstreams=fakes):
                started.set()
                await stop.wait()
        except BaseException as exc:
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert started.wait(15), "the edge did not start"
    if failure:
        raise failure[0]
    try:
        yield f"http://{settings.host}:{settings.port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@contextmanager
def running_edge(upstreams: Upstreams | None = None, **settings: Any) -> Iterator[httpx.Client]:
    """A client of an edge served on a free port; the Host it sends is an API host."""
    settings.setdefault("vault_url", VAULT_URL)
    settings.setdefault("router_url", ROUTER_URL)
    settings.setdefault("port", free_port())
    with (
        serving_edge(Settings(**settings), upstreams) as url,
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
