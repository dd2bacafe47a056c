"""The API's small JSON client of its own services, on real sockets: its failures told
apart (never sent, no answer, timed out), the request id passed on, keep-alive reuse."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from api.clients.http import ConnectFailed, JsonClient, NoAnswer, Timeout
from servicekit.logs import REQUEST_ID
from tests.helpers.servers import free_port


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += conn.recv(4096)
    return head + b"\r\n\r\n" + rest


@pytest.fixture
def server() -> Iterator[tuple[str, list[bytes], dict[str, str]]]:
    """Answers each request with what it received (as JSON), keeping connections open;
    `mode["do"]` set to "silent" reads and never answers, "close" closes unanswered."""
    listener = socket.create_server(("127.0.0.1", free_port()))
    seen: list[bytes] = []
    mode = {"do": "answer"}
    connections: list[int] = []

    def handle(conn: socket.socket) -> None:
        connections.append(1)
        with conn:
            while request := _read_request(conn):
                seen.append(request)
                if mode["do"] == "close":
                    return
                if mode["do"] == "silent":
                    threading.Event().wait(2)
                    return
                body = json.dumps({"n": len(seen), "connections": len(connections)}).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    host, port = listener.getsockname()
    try:
        yield f"http://{host}:{port}", seen, mode
    finally:
        listener.close()


def test_requests_reuse_one_connection_and_carry_headers_body_and_request_id(server) -> None:
    url, seen, _ = server
    client = JsonClient(url, 5.0, {"Authorization": "Bearer cred"})
    token = REQUEST_ID.set("req_abc")
    try:
        first = client.request("POST", "/v1/x", {"a": "b c"}, {"k": 1})
    finally:
        REQUEST_ID.reset(token)
    try:
        second = client.request("GET", "/v1/y")
    finally:
        client.close()
    assert (first.status_code, first.json()) == (200, {"n": 1, "connections": 1})
    assert second.json() == {"n": 2, "connections": 1}  # kept alive, reused
    head = seen[0].decode()
    assert head.startswith("POST /v1/x?a=b+c HTTP/1.1\r\n")
    assert "authorization: Bearer cred" in head and "x-request-id: req_abc" in head
    assert head.endswith('{"k":1}')
    assert "x-request-id" not in seen[1].decode()  # outside a request: none


def test_a_refused_connection_was_never_sent() -> None:
    client = JsonClient(f"http://127.0.0.1:{free_port()}", 5.0, {})
    with pytest.raises(ConnectFailed):
        client.request("GET", "/")


def test_a_connection_closed_unanswered_is_no_answer(server) -> None:
    url, _, mode = server
    mode["do"] = "close"
    with pytest.raises(NoAnswer):
        JsonClient(url, 5.0, {}).request("POST", "/v1/charges", body={})


def test_an_answer_slower_than_the_timeout_is_a_timeout(server) -> None:
    url, _, mode = server
    mode["do"] = "silent"
    with pytest.raises(Timeout):
        JsonClient(url, 0.3, {}).request("POST", "/v1/charges", body={})


def test_a_connection_that_failed_is_not_pooled_again(server) -> None:
    url, _, mode = server
    client = JsonClient(url, 5.0, {})
    try:
        assert client.request("GET", "/one").json()["connections"] == 1
        mode["do"] = "close"  # the next request read on that connection closes it
        with pytest.raises(NoAnswer):
            client.request("GET", "/two")
        mode["do"] = "answer"
        assert client.request("GET", "/three").json()["connections"] == 2  # a new one
    finally:
        client.close()


def test_a_connection_idle_past_the_keep_idle_limit_is_not_used_again(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, _ = server
    client = JsonClient(url, 5.0, {})
    try:
        assert client.request("GET", "/one").json()["connections"] == 1
        monkeypatch.setattr("api.clients.http.KEEP_IDLE", 0.0)  # every idle one too old
        assert client.request("GET", "/two").json()["connections"] == 2
    finally:
        client.close()


def _answered(raw: bytes) -> str:
    """A server that answers one request with `raw` and closes; its URL."""
    listener = socket.create_server(("127.0.0.1", free_port()))

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                _read_request(conn)
                conn.sendall(raw)

    threading.Thread(target=serve, daemon=True).start()
    host, port = listener.getsockname()
    return f"http://{host}:{port}"


@pytest.mark.parametrize(
    "raw",
    [
        # Framed by the close: no Strongroom service sends it, so its end is no answer.
        b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"ok":true}',
        # Both framings at once: the smuggling shape llhttp refuses.
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
        # Two lengths that disagree.
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
        # A chunk size as Python's int() would read it, not HTTP.
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
        # A second answer to one request.
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
        # Cut short.
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}",
        b"not http at all\r\n\r\n",
    ],
    ids=["close-framed", "length-and-chunked", "two-lengths", "hex-prefix", "two", "short", "junk"],
)
def test_an_answer_llhttp_refuses_is_no_answer(raw: bytes) -> None:
    with pytest.raises(NoAnswer):
        JsonClient(_answered(raw), 5.0, {}).request("POST", "/v1/charges", body={})


def test_a_chunked_answer_after_an_informational_one_is_read_whole() -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n"
        b'4\r\n{"a"\r\n4\r\n:1}\n\r\n0\r\n\r\n'
    )
    answer = JsonClient(_answered(raw), 5.0, {}).request("POST", "/v1/charges", body={})
    assert (answer.status_code, answer.json()) == (201, {"a": 1})
