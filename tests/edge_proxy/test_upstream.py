"""The edge against real upstream servers, over its own pooled client."""

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from edge_proxy.flow import EdgeResponse
from edge_proxy.wire.client import UpstreamError, UpstreamPool
from tests.edge_proxy.conftest import running_edge
from tests.helpers.servers import free_port, serving


def test_the_request_carries_our_framing_and_host():
    pool = UpstreamPool("http://router.internal:8081/base/", timeout=1, max_response_bytes=10)
    message = pool.message("POST", b"/v1/a%2Fb?x=%20y", [(b"x-a", b"1")], b"{}")
    assert message == (
        b"POST /base/v1/a%2Fb?x=%20y HTTP/1.1\r\nhost: router.internal:8081\r\n"
        b"x-a: 1\r\ncontent-length: 2\r\n\r\n{}"
    )
    assert b"content-length" not in pool.message("GET", b"/", [], b"")


def test_an_unreachable_upstream_is_502():
    closed = f"http://127.0.0.1:{free_port()}"
    with running_edge(router_url=closed, vault_url=closed) as edge:
        for path in ("/v1/charges", "/v1/cards"):
            response = edge.post(path, json={})
            assert response.status_code == 502
            assert response.json()["error"]["code"] == "upstream_unavailable"


def recording_service(name: str, seen: list[tuple[str, str, bytes, str | None]]) -> Starlette:
    async def record(request: Request) -> JSONResponse:
        body = await request.body()
        seen.append((name, request.url.path, body, request.headers.get("x-request-id")))
        return JSONResponse({"service": name}, headers={"x-service": name})

    async def chunked(request: Request) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            yield b'{"a": '
            yield b'"chunked"}'

        return StreamingResponse(parts(), media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/chunked", chunked),
            Route("/{p:path}", record, methods=["GET", "POST"]),
        ]
    )


def test_real_upstreams_over_the_pooled_client():
    seen: list[tuple[str, str, bytes, str | None]] = []
    with (
        serving(recording_service("vault", seen)) as vault_url,
        serving(recording_service("router", seen)) as router_url,
        running_edge(vault_url=vault_url, router_url=router_url) as edge,
    ):
        card = b'{"number": "4242424242424242"}'
        first = edge.post("/v1/cards", content=card)
        second = edge.post("/v1/charges", json={"card": "card_1", "amount": 5})
        third = edge.post("/v1/charges", json={"card": "4242424242424242"})
        for _ in range(5):  # the pooled connection is reused
            assert edge.get("/v1/charges").json() == {"service": "router"}
        chunked = edge.get("/v1/chunked")
    assert (first.json(), first.headers["x-service"]) == ({"service": "vault"}, "vault")
    assert second.json() == {"service": "router"}
    assert third.status_code == 400
    assert [(s[0], s[1], s[3]) for s in seen[:2]] == [
        ("vault", "/v1/cards", first.headers["x-request-id"]),
        ("router", "/v1/charges", second.headers["x-request-id"]),
    ]
    assert seen[0][2] == card
    assert chunked.json() == {"a": "chunked"}
    assert "transfer-encoding" not in chunked.headers


def one_connection(serve: Callable[[socket.socket], None]) -> tuple[str, threading.Thread]:
    """A server that accepts one connection, has `serve` talk on it, then closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            serve(conn)
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread


def raw_upstream(answer: bytes) -> tuple[str, threading.Thread]:
    """A server that reads one request and answers `answer` verbatim, then closes."""

    def serve(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(answer)

    return one_connection(serve)


def send(url: str, **pool_options: float) -> EdgeResponse:
    async def go() -> EdgeResponse:
        options = {"timeout": 2.0, **pool_options}
        pool = UpstreamPool(url, timeout=options["timeout"], max_response_bytes=1024)
        try:
            return await pool.send("GET", b"/", [], b"")
        finally:
            pool.close()

    return asyncio.run(go())


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",
        b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n{}",
    ],
)
def test_a_malformed_or_oversized_response_is_an_error(answer):
    url, thread = raw_upstream(answer)
    with pytest.raises(UpstreamError) as info:
        send(url)
    assert info.value.kind in ("malformed", "too_large", "unavailable")
    thread.join(5)


def test_a_response_framed_by_close_is_read_to_the_end():
    url, thread = raw_upstream(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
    response = send(url)
    assert response.body == b"until close"
    thread.join(5)


def test_a_silent_upstream_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    with pytest.raises(UpstreamError) as info:
        send(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.3)
    assert info.value.kind == "timeout"
    listener.close()


def test_a_slow_upstream_is_504_through_the_edge():
    from tests.edge_proxy.conftest import Upstreams

    upstreams = Upstreams()

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    upstreams.replies["router"] = timeout
    with running_edge(upstreams) as edge:
        response = edge.get("/v1/charges")
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "upstream_timeout"


def one_answer_per_connection() -> tuple[str, list[bytes]]:
    """A server that answers the first request on each connection and drops the
    connection on the second, unanswered: a keep-alive race, every time."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    seen: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            for answered in (True, False):
                data = conn.recv(65536)
                if not data:
                    return
                seen.append(data.split(b"\r\n", 1)[0])
                if answered:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def run() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", seen


def test_an_idempotent_request_is_retried_once_when_a_reused_connection_drops():
    url, seen = one_answer_per_connection()

    async def go() -> tuple[bytes, bytes, str]:
        pool = UpstreamPool(url, timeout=2, max_response_bytes=1024)
        try:
            first = await pool.send("GET", b"/a", [], b"")
            second = await pool.send("GET", b"/b", [], b"")  # dropped, then sent again
            await pool.send("GET", b"/c", [], b"")  # the fresh connection is pooled
            try:
                await pool.send("POST", b"/d", [], b"{}")  # never sent twice
            except UpstreamError as error:
                return first.body, second.body, error.kind
            return first.body, second.body, "answered"
        finally:
            pool.close()

    first, second, post = asyncio.run(go())
    assert (first, second, post) == (b"ok", b"ok", "unavailable")
    assert seen.count(b"GET /b HTTP/1.1") == 2 and seen.count(b"POST /d HTTP/1.1") == 1


def answers_then_falls_silent(answered: int) -> str:
    """A server that answers the first `answered` requests on a connection, then reads
    and never answers."""

    def serve(conn: socket.socket) -> None:
        for _ in range(answered):
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        while conn.recv(65536):
            pass

    return one_connection(serve)[0]


def test_a_late_answer_on_a_reused_connection_times_out_in_time():
    url = answers_then_falls_silent(answered=3)

    async def go() -> tuple[list[int], BaseException | None, float]:
        pool = UpstreamPool(url, timeout=0.4, max_response_bytes=1024)
        loop = asyncio.get_running_loop()
        try:
            statuses = [(await pool.send("GET", b"/", [], b"")).status_code for _ in range(3)]
            started = loop.time()
            try:
                await pool.send("POST", b"/", [], b"{}")
            except UpstreamError as error:
                return statuses, error, loop.time() - started
            return statuses, None, loop.time() - started
        finally:
            pool.close()

    statuses, error, waited = asyncio.run(go())
    assert statuses == [200, 200, 200]
    assert isinstance(error, UpstreamError) and error.kind == "timeout"
    assert 0.4 <= waited < 3.0  # its own timeout, not a hang (slack for a busy machine)
