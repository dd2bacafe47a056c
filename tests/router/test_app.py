"""The router against two real upstream stacks on loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from router.app import create_app
from router.config import Settings
from router.stacks import RECHECK_AFTER_SECONDS, Stack
from tests.helpers.servers import free_port, serving

TEST = {"authorization": "Bearer sk_test_1"}
LIVE = {"authorization": "Bearer sk_live_1"}


class Upstream:
    """A stand-in API stack: echoes, can be slow, can stream, counts its connections."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.delay = 0.0
        self.healthy = True
        self.probes = 0
        self.clients: set[tuple[str, int]] = set()
        self.release = threading.Event()
        self.release.set()

    def app(self) -> Starlette:
        async def echo(request: Request) -> Response:
            if request.client is not None:
                self.clients.add((request.client.host, request.client.port))
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            await asyncio.sleep(self.delay)
            return JSONResponse(
                {
                    "stack": self.name,
                    "path": request.url.path,
                    "query": request.url.query,
                    "size": size,
                },
                headers={"x-stack": self.name},
            )

        async def trickle(request: Request) -> Response:
            async def chunks() -> AsyncIterator[bytes]:
                for n in range(3):
                    yield f"chunk{n};".encode()
                    await asyncio.sleep(0.3)

            return StreamingResponse(chunks(), media_type="text/plain")

        async def health(request: Request) -> Response:
            self.probes += 1
            return JSONResponse({"status": "ok"}, status_code=200 if self.healthy else 503)

        return Starlette(
            routes=[
                Route("/healthz", health, methods=["GET"]),
                Route("/trickle", trickle, methods=["GET"]),
                Route("/{p:path}", echo, methods=["GET", "POST", "DELETE"]),
            ]
        )


@pytest.fixture
def upstreams() -> Iterator[dict[str, Upstream]]:
    stacks = {"test": Upstream("test"), "live": Upstream("live")}
    yield stacks
    for stack in stacks.values():
        stack.release.set()


def start(upstreams: dict[str, Upstream], **overrides: Any) -> Any:
    class Running:
        def __enter__(self) -> str:
            self._servers = [
                serving(upstreams["test"].app()),
                serving(upstreams["live"].app()),
            ]
            test_url, live_url = (s.__enter__() for s in self._servers)
            settings = Settings(test_url=test_url, live_url=live_url, **overrides)
            self._router = serving(create_app(settings))
            return self._router.__enter__()

        def __exit__(self, *exc: object) -> None:
            self._router.__exit__(None, None, None)
            for server in reversed(self._servers):
                server.__exit__(None, None, None)

    return Running()


def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_requests_go_to_the_stack_of_their_key(upstreams) -> None:
    with start(upstreams) as url:
        for key, stack in (("sk_test_1", "test"), ("pk_live_2", "live")):
            response = httpx.post(
                url + "/v1/charges?expand=card",
                content=b'{"amount": 5}',
                headers={"authorization": f"Bearer {key}"},
            )
            assert response.status_code == 200
            assert response.json() == {
                "stack": stack,
                "path": "/v1/charges",
                "query": "expand=card",
                "size": 13,
            }
            assert response.headers["x-stack"] == stack


def test_no_key_is_401_and_reaches_no_stack_except_for_the_openapi_document(upstreams) -> None:
    with start(upstreams) as url:
        response = httpx.get(url + "/v1/charges")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "missing_api_key"
        assert httpx.get(url + "/v1/openapi.json").json()["stack"] == "test"
    assert upstreams["live"].clients == set()


def test_a_stack_that_is_down_is_502() -> None:
    settings = Settings(test_url=f"http://127.0.0.1:{free_port()}", live_url="http://127.0.0.1:9")
    with serving(create_app(settings)) as url:
        response = httpx.get(url + "/v1/charges", headers=TEST)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"


def test_bodies_stream_through_both_ways(upstreams) -> None:
    def upload() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * 65536  # 4 MiB, never held whole by the client

    with start(upstreams) as url:
        sent = httpx.post(url + "/v1/upload", content=upload(), headers=TEST, timeout=30)
        assert sent.json()["size"] == 64 * 65536
        began = time.monotonic()
        with httpx.stream("GET", url + "/trickle", headers=LIVE) as response:
            chunks = response.iter_raw()
            first = next(chunks)
            first_after = time.monotonic() - began
            rest = b"".join(chunks)
        assert first.startswith(b"chunk0;") and rest.endswith(b"chunk2;")
        assert first_after < 0.6  # the first chunk arrived before the upstream finished


def test_connections_to_a_stack_are_pooled(upstreams) -> None:
    with start(upstreams) as url, httpx.Client(headers=LIVE) as client:
        for _ in range(20):
            assert client.get(url + "/v1/charges").status_code == 200
    assert len(upstreams["live"].clients) == 1


def test_each_stack_has_its_own_timeout(upstreams) -> None:
    upstreams["test"].delay = 2.0
    with start(upstreams, test_timeout_seconds=0.3) as url:
        slow = httpx.get(url + "/v1/charges", headers=TEST)
        assert (slow.status_code, slow.json()["error"]["code"]) == (504, "upstream_timeout")
        assert httpx.get(url + "/v1/charges", headers=LIVE).status_code == 200


def test_a_flooded_test_stack_is_refused_at_its_own_gate_while_live_flows(upstreams) -> None:
    upstreams["test"].release.clear()  # the test stack holds every request it gets
    # No pacing here: paced requests pass through the queue one slot at a time, so the
    # queue's depth would depend on when it is looked at.
    limits = {
        "test_max_in_flight": 2,
        "test_queue": 2,
        "test_queue_timeout_seconds": 60.0,
        "test_max_rate": 0.0,
        "test_max_rate_per_key": 0.0,
    }
    with start(upstreams, **limits) as url:
        results: list[int] = []

        def flood() -> None:
            results.append(httpx.get(url + "/v1/charges", headers=TEST, timeout=30).status_code)

        threads = [threading.Thread(target=flood) for _ in range(8)]
        for thread in threads:
            thread.start()

        def stacks() -> dict[str, Any]:
            found: dict[str, Any] = httpx.get(url + "/healthz").json()["stacks"]
            return found

        until(lambda: (stacks()["test"]["in_flight"], stacks()["test"]["queued"]) == (2, 2))
        status = stacks()
        assert status["test"]["in_flight"] == 2 and status["test"]["queued"] == 2
        began = time.monotonic()
        for _ in range(10):
            assert httpx.get(url + "/v1/charges", headers=LIVE).status_code == 200
        assert time.monotonic() - began < 5.0  # never held behind the test stack's queue
        assert status["live"]["in_flight"] == 0
        busy = httpx.get(url + "/v1/charges", headers=TEST)
        assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")
        assert busy.json()["error"]["code"] == "stack_overloaded"
        upstreams["test"].release.set()
        for thread in threads:
            thread.join()
        assert sorted(results) == [200] * 4 + [503] * 4
        after = httpx.get(url + "/healthz").json()["stacks"]["test"]
        assert (after["in_flight"], after["queued"]) == (0, 0)


def test_a_client_gone_mid_stream_gives_its_permit_back(upstreams) -> None:
    with start(upstreams, live_max_in_flight=1, live_queue=0) as url:
        with httpx.stream("GET", url + "/trickle", headers=LIVE) as response:
            next(response.iter_raw())
        until(lambda: httpx.get(url + "/healthz").json()["stacks"]["live"]["in_flight"] == 0)
        assert httpx.get(url + "/v1/x", headers=LIVE).status_code == 200


def test_an_unhealthy_stack_is_failed_fast_until_it_recovers(upstreams) -> None:
    with start(upstreams, health_interval_seconds=0.05, unhealthy_after=2) as url:
        upstreams["test"].healthy = False
        until(lambda: httpx.get(url + "/healthz").json()["stacks"]["test"]["healthy"] is False)
        refused = httpx.get(url + "/v1/charges", headers=TEST)
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "stack_unavailable")
        assert httpx.get(url + "/v1/charges", headers=LIVE).status_code == 200
        upstreams["test"].healthy = True
        until(lambda: httpx.get(url + "/healthz").json()["stacks"]["test"]["healthy"] is True)
        assert httpx.get(url + "/v1/charges", headers=TEST).status_code == 200


def test_a_request_finding_its_stack_unhealthy_checks_it_again_itself(upstreams) -> None:
    # As when a stack's processes start beside the router: the watcher saw it down, and
    # the first request after it came up must not wait for the watcher's next tick.
    upstream = upstreams["test"]

    async def scenario(url: str) -> list[tuple[bool, int]]:
        stack = Stack("test", Settings(test_url=url).stack("test"))
        seen = []
        try:
            upstream.healthy = False
            await stack.probe(unhealthy_after=1)
            seen.append((stack.healthy, upstream.probes))
            upstream.healthy = True
            # Just probed: refused at once, without asking the stack again.
            seen.append((await stack.available(), upstream.probes))
            await asyncio.sleep(RECHECK_AFTER_SECONDS)
            seen.append((await stack.available(), upstream.probes))
            seen.append((await stack.available(), upstream.probes))  # healthy: no probe
        finally:
            await stack.close()
        return seen

    with serving(upstream.app()) as url:
        assert asyncio.run(scenario(url)) == [(False, 1), (False, 1), (True, 2), (True, 2)]


def test_odd_bytes_in_the_path_and_headers_pass_through_untouched(upstreams) -> None:
    with start(upstreams) as url:
        response = httpx.get(
            url + "/v1/x%1B%01%5C?q=%FF",
            headers=[(b"authorization", b"Bearer sk_test_1"), (b"x-odd", "é".encode())],
        )
    assert response.status_code == 200
    assert response.json()["path"].startswith("/v1/x\x1b\x01")


def test_a_method_no_stack_serves_is_405_at_the_router(upstreams) -> None:
    with start(upstreams) as url:
        response = httpx.request("TRACE", url + "/v1/charges", headers=TEST)
    assert (response.status_code, response.json()["error"]["code"]) == (405, "method_not_allowed")
    assert "POST" in response.headers["allow"]
    assert upstreams["test"].clients == set()


def test_two_authorization_headers_are_401_and_reach_no_stack(upstreams) -> None:
    with start(upstreams) as url:
        for pair in (("sk_test_1", "sk_live_1"), ("sk_live_1", "sk_test_1"), ("sk_test_1",) * 2):
            headers = [("authorization", f"Bearer {key}") for key in pair]
            response = httpx.get(url + "/v1/charges", headers=headers)
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "invalid_api_key"
    assert upstreams["test"].clients == set() and upstreams["live"].clients == set()


def test_two_idempotency_keys_are_400_and_reach_no_stack(upstreams) -> None:
    with start(upstreams) as url:
        headers = [*TEST.items(), ("idempotency-key", "a"), ("idempotency-key", "b")]
        response = httpx.post(url + "/v1/charges", headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "idempotency_key_invalid"
        assert (
            httpx.post(
                url + "/v1/charges", headers=[*TEST.items(), ("idempotency-key", "a")]
            ).status_code
            == 200
        )
    assert len(upstreams["test"].clients) == 1
