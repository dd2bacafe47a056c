"""Request smuggling: every ambiguous or malformed framing is answered 400 and the
connection closed, and nothing reaches an upstream; the bytes after it (a smuggled
request) are never read as a request.

Each case is sent raw over a socket to a running edge, followed by a second, valid
request: if the edge read any part of the malformed one as a message boundary, that
second request would be answered or forwarded.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from tests.edge_proxy.conftest import Upstreams, running_edge
from tests.helpers.servers import serving

SMUGGLED = b"GET /v1/smuggled HTTP/1.1\r\nHost: api.localhost\r\n\r\n"


def head(*lines: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n\r\n"


POST = b"POST /v1/charges HTTP/1.1"
HOST = b"Host: api.localhost"

CASES: dict[str, bytes] = {
    # Content-Length and Transfer-Encoding together, in either order.
    "cl_then_te": head(POST, HOST, b"Content-Length: 6", b"Transfer-Encoding: chunked")
    + b"0\r\n\r\nX",
    "te_then_cl": head(POST, HOST, b"Transfer-Encoding: chunked", b"Content-Length: 6")
    + b"0\r\n\r\nX",
    "cl_zero_and_te": head(POST, HOST, b"Content-Length: 0", b"Transfer-Encoding: chunked")
    + b"0\r\n\r\n",
    # Duplicate or conflicting lengths.
    "two_lengths_differ": head(POST, HOST, b"Content-Length: 3", b"Content-Length: 5") + b"abcde",
    "two_lengths_same": head(POST, HOST, b"Content-Length: 5", b"Content-Length: 5") + b"abcde",
    "length_list": head(POST, HOST, b"Content-Length: 5, 5") + b"abcde",
    "length_plus_sign": head(POST, HOST, b"Content-Length: +5") + b"abcde",
    "length_negative": head(POST, HOST, b"Content-Length: -1") + b"abcde",
    "length_hex": head(POST, HOST, b"Content-Length: 0x5") + b"abcde",
    "length_inner_space": head(POST, HOST, b"Content-Length: 5 5") + b"abcde",
    "length_trailing_letter": head(POST, HOST, b"Content-Length: 5a") + b"abcde",
    "length_empty": head(POST, HOST, b"Content-Length: ") + b"abcde",
    "length_too_many_digits": head(POST, HOST, b"Content-Length: 0000000000000000005") + b"abcde",
    "length_unicode_digit": head(POST, HOST, "Content-Length: ٥".encode()) + b"abcde",
    "length_underscore": head(POST, HOST, b"Content_Length: 5") + b"abcde",
    # Obfuscated Transfer-Encoding.
    "te_xchunked": head(POST, HOST, b"Transfer-Encoding: xchunked") + b"0\r\n\r\n",
    "te_chunked_identity": head(POST, HOST, b"Transfer-Encoding: chunked, identity") + b"0\r\n\r\n",
    "te_identity_chunked": head(POST, HOST, b"Transfer-Encoding: identity, chunked") + b"0\r\n\r\n",
    "te_twice": head(POST, HOST, b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked")
    + b"0\r\n\r\n",
    "te_vertical_tab": head(POST, HOST, b"Transfer-Encoding:\x0bchunked") + b"0\r\n\r\n",
    "te_space_before_colon": head(POST, HOST, b"Transfer-Encoding : chunked") + b"0\r\n\r\n",
    "te_folded": head(POST, HOST, b"Transfer-Encoding:", b" chunked") + b"0\r\n\r\n",
    "te_underscore": head(POST, HOST, b"Transfer_Encoding: chunked") + b"0\r\n\r\n",
    "te_on_http10": head(b"POST /v1/charges HTTP/1.0", HOST, b"Transfer-Encoding: chunked")
    + b"0\r\n\r\n",
    # Line endings and folding.
    "bare_lf_request_line": b"GET /v1/charges HTTP/1.1\nHost: api.localhost\r\n\r\n",
    "bare_lf_headers": b"GET /v1/charges HTTP/1.1\r\nHost: api.localhost\n\n",
    "bare_lf_everywhere": b"GET /v1/charges HTTP/1.1\nHost: api.localhost\n\n",
    "bare_cr_in_value": head(b"GET /v1/charges HTTP/1.1", HOST, b"X-A: a\rb"),
    "nul_in_value": head(b"GET /v1/charges HTTP/1.1", HOST, b"X-A: a\x00b"),
    "obs_fold": head(b"GET /v1/charges HTTP/1.1", HOST, b"X-A: a", b"\tb"),
    "first_header_folded": head(b"GET /v1/charges HTTP/1.1", b" Host: api.localhost"),
    "leading_empty_line": b"\r\n" + head(b"GET /v1/charges HTTP/1.1", HOST),
    # Header syntax.
    "space_before_colon": head(b"GET /v1/charges HTTP/1.1", b"Host : api.localhost"),
    "empty_header_name": head(b"GET /v1/charges HTTP/1.1", HOST, b": x"),
    "header_without_colon": head(b"GET /v1/charges HTTP/1.1", HOST, b"X-A x"),
    "del_in_value": head(b"GET /v1/charges HTTP/1.1", HOST, b"X-A: a\x7fb"),
    "no_host": head(b"GET /v1/charges HTTP/1.1", b"X-A: 1"),
    "two_hosts": head(b"GET /v1/charges HTTP/1.1", HOST, b"Host: evil.example"),
    # Request line.
    "double_space": head(b"GET  /v1/charges HTTP/1.1", HOST),
    "absolute_form": head(b"GET http://router.internal/v1/charges HTTP/1.1", HOST),
    "no_version": b"GET /v1/charges\r\n\r\n",
    "lowercase_version": head(b"GET /v1/charges http/1.1", HOST),
    "tab_separator": head(b"GET\t/v1/charges HTTP/1.1", HOST),
    "fragment_in_target": head(b"GET /v1/charges#x HTTP/1.1", HOST),
    # Chunked bodies.
    "chunk_size_not_hex": head(POST, HOST, b"Transfer-Encoding: chunked") + b"zz\r\nx\r\n0\r\n\r\n",
    "chunk_extension": head(POST, HOST, b"Transfer-Encoding: chunked")
    + b"1;ext=1\r\nx\r\n0\r\n\r\n",
    "chunk_size_0x": head(POST, HOST, b"Transfer-Encoding: chunked") + b"0x1\r\nx\r\n0\r\n\r\n",
    "chunk_size_signed": head(POST, HOST, b"Transfer-Encoding: chunked") + b"+1\r\nx\r\n0\r\n\r\n",
    "chunk_size_space": head(POST, HOST, b"Transfer-Encoding: chunked") + b"1 \r\nx\r\n0\r\n\r\n",
    "chunk_size_too_long": head(POST, HOST, b"Transfer-Encoding: chunked")
    + b"000000001\r\nx\r\n0\r\n\r\n",
    "chunk_data_overrun": head(POST, HOST, b"Transfer-Encoding: chunked") + b"1\r\nxy\r\n0\r\n\r\n",
    "chunk_bare_lf_after_size": head(POST, HOST, b"Transfer-Encoding: chunked")
    + b"1\nx\r\n0\r\n\r\n",
    "chunk_bare_lf_after_data": head(POST, HOST, b"Transfer-Encoding: chunked")
    + b"1\r\nx\n0\r\n\r\n",
    "chunk_trailers": head(POST, HOST, b"Transfer-Encoding: chunked")
    + b"1\r\nx\r\n0\r\nX-Trailer: 1\r\n\r\n",
}


def exchange(port: int, data: bytes, wait: float = 5.0) -> tuple[bytes, bool]:
    """Send `data`, read until the edge closes or `wait` passes: (bytes, closed)."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(data)
        conn.settimeout(wait)
        received = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                return received, False
            if not chunk:
                return received, True
            received += chunk
        return received, False


@pytest.fixture(scope="module")
def edge_port():
    upstreams = Upstreams()
    with running_edge(upstreams) as client:
        yield client.base_url.port, upstreams


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_framing_is_400_and_closed(edge_port, name):
    port, upstreams = edge_port
    upstreams.reset()
    received, closed = exchange(port, CASES[name] + SMUGGLED)
    assert received.startswith(b"HTTP/1.1 400 "), received[:200]
    assert received.count(b"HTTP/1.1 ") == 1  # the smuggled request got no answer
    assert b"connection: close" in received.lower()
    assert closed
    assert upstreams.seen == []


def test_an_unsupported_version_is_505_and_closed(edge_port):
    port, _upstreams = edge_port
    received, closed = exchange(port, head(b"GET /v1/charges HTTP/2.0", HOST))
    assert received.startswith(b"HTTP/1.1 505 ") and closed


def test_a_head_too_large_is_431_and_closed(edge_port):
    port, _upstreams = edge_port
    data = head(b"GET /v1/charges HTTP/1.1", HOST, b"X-Big: " + b"a" * 40_000)
    received, closed = exchange(port, data)
    assert received.startswith(b"HTTP/1.1 431 ") and closed


def test_a_declared_body_over_the_limit_is_413_before_it_is_sent(edge_port):
    port, upstreams = edge_port
    upstreams.reset()
    received, closed = exchange(port, head(POST, HOST, b"Content-Length: 2000000"))
    assert received.startswith(b"HTTP/1.1 413 ") and closed
    assert upstreams.seen == []


def test_a_chunked_body_over_the_limit_is_413_and_closed(edge_port):
    port, upstreams = edge_port
    upstreams.reset()
    chunk = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
    received, closed = exchange(port, head(POST, HOST, b"Transfer-Encoding: chunked") + chunk * 17)
    assert received.startswith(b"HTTP/1.1 413 ") and closed
    assert upstreams.seen == []


def test_a_client_still_sending_after_a_refusal_reads_the_answer_not_a_reset(edge_port):
    port, upstreams = edge_port
    upstreams.reset()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(head(POST, HOST, b"Content-Length: 2000000"))
        time.sleep(0.3)  # refused by its head: the edge has answered and half-closed
        conn.sendall(b"a" * 2_000_000)  # a reset would fail this send or the reads below
        conn.settimeout(5)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 413 ")
    assert upstreams.seen == []


def _after_half_close(port: int, data: bytes) -> bytes:
    """Send `data`, shut the sending side, read until the edge closes."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(5)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


def test_a_client_that_half_closes_gets_its_answers_then_the_edge_closes(edge_port):
    port, upstreams = edge_port
    upstreams.reset()
    one = head(b"GET /v1/charges HTTP/1.1", HOST)
    assert _after_half_close(port, one).startswith(b"HTTP/1.1 200 ")
    both = _after_half_close(port, one + head(b"GET /v1/customers HTTP/1.1", HOST))
    assert both.count(b"HTTP/1.1 200 ") == 2
    assert [r.url.path for r in upstreams.seen] == ["/v1/charges", "/v1/charges", "/v1/customers"]


async def _slow_service(scope, receive, send):
    """An upstream that answers after the client has long half-closed."""
    if scope["type"] != "http":
        return
    await asyncio.sleep(0.3)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"late"})


def test_a_half_closed_client_waits_for_a_slow_upstream():
    with serving(_slow_service) as url, running_edge(router_url=url) as client:
        port = client.base_url.port
        assert port is not None
        received = _after_half_close(port, head(b"GET /v1/charges HTTP/1.1", HOST))
    assert received.startswith(b"HTTP/1.1 200 ") and received.endswith(b"late")


def test_a_partial_request_before_a_half_close_is_dropped(edge_port):
    port, upstreams = edge_port
    upstreams.reset()
    partial = head(POST, HOST, b"Content-Length: 10") + b"abc"
    assert _after_half_close(port, partial) == b""
    assert upstreams.seen == []


def test_an_unsupported_expectation_is_417(edge_port):
    port, _ = edge_port
    received, closed = exchange(port, head(POST, HOST, b"Content-Length: 2", b"Expect: magic"))
    assert received.startswith(b"HTTP/1.1 417 ") and closed


def test_a_chunked_body_reaches_the_upstream_with_a_length_of_its_own(edge_port):
    port, upstreams = edge_port
    upstreams.reset()
    data = head(POST, HOST, b"Transfer-Encoding: chunked", b"Content-Type: application/json")
    data += b"2\r\n{}\r\n0\r\n\r\n"
    received, _ = exchange(port, data + head(b"GET /v1/next HTTP/1.1", HOST, b"Connection: close"))
    assert received.count(b"HTTP/1.1 200 ") == 2
    first, second = upstreams.seen
    assert first.content == b"{}" and first.headers["content-length"] == "2"
    assert "transfer-encoding" not in first.headers
    assert second.url.path == "/v1/next"


def test_pipelined_requests_are_answered_in_order(edge_port):
    port, upstreams = edge_port
    upstreams.reset()
    data = b"".join(head(b"GET /v1/charges/ch_%d HTTP/1.1" % i, HOST) for i in range(3)) + head(
        b"GET /v1/charges/ch_3 HTTP/1.1", HOST, b"Connection: close"
    )
    received, closed = exchange(port, data)
    assert received.count(b"HTTP/1.1 200 ") == 4 and closed
    assert [r.url.path for r in upstreams.seen] == [f"/v1/charges/ch_{i}" for i in range(4)]


def test_expect_100_continue_gets_an_interim_answer(edge_port):
    port, upstreams = edge_port
    upstreams.reset()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(
            head(
                POST,
                HOST,
                b"Content-Type: application/json",
                b"Content-Length: 2",
                b"Expect: 100-continue",
            )
        )
        conn.settimeout(5)
        assert conn.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(b"{}")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200 ")
    assert upstreams.only().content == b"{}"


def test_http10_is_answered_and_closed(edge_port):
    port, _ = edge_port
    received, closed = exchange(port, head(b"GET /healthz HTTP/1.0"))
    assert received.startswith(b"HTTP/1.1 200 ") and closed


def test_a_slow_client_gets_408_and_an_idle_one_is_closed():
    with running_edge(Upstreams(), read_timeout=0.3, keepalive_timeout=0.3) as client:
        port = client.base_url.port or 0
        received, closed = exchange(port, b"GET /v1/charges HTTP/1.1\r\nHost: api")
        assert received.startswith(b"HTTP/1.1 408 ") and closed
        received, closed = exchange(port, b"")
        assert received == b"" and closed


def test_a_flood_of_pipelined_requests_is_read_as_it_is_answered():
    upstreams = Upstreams()
    with running_edge(upstreams, max_head_bytes=1024) as client:
        port = client.base_url.port or 0
        many = b"".join(head(b"GET /v1/charges/ch_%d HTTP/1.1" % i, HOST) for i in range(300))
        received, closed = exchange(
            port, many + head(b"GET /last HTTP/1.1", HOST, b"Connection: close")
        )
    assert received.count(b"HTTP/1.1 200 ") == 301 and closed
    assert len(upstreams.seen) == 301
