"""The router's forwarding, against a raw upstream that records the bytes it receives."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httptools
import httpx

from router.app import create_app
from router.config import Settings
from tests.helpers.servers import serving

OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
KEY = {"authorization": "Bearer sk_test_1", "x-request-id": "req_0123456789abcdef"}


class Message:
    """One request as llhttp (strict, as every service reads it) parses it."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.complete = False

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


class _Reader:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def on_message_begin(self) -> None:
        self.messages.append(Message())

    def on_url(self, url: bytes) -> None:
        self.messages[-1].url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.messages[-1].headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.messages[-1].body += body

    def on_message_complete(self) -> None:
        self.messages[-1].complete = True


class Closing(bytes):
    """An answer after which the stack closes the connection."""


Answer = Callable[[Message], bytes | None]  # the bytes to answer with; None: close at once


class RawUpstream:
    """A stack that records each connection's bytes and answers each request as told."""

    def __init__(self, answer: Answer = lambda _: OK) -> None:
        self.answer = answer
        # What each connection that carried a request received, byte for byte.
        self.streams: list[bytearray] = []
        self.messages: list[Message] = []
        self.ready = threading.Event()  # cleared: hold each request until set
        self.ready.set()
        self.url = ""

    @contextmanager
    def serving(self) -> Iterator[str]:
        upstream = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                received = bytearray()
                reader = _Reader()
                parser = httptools.HttpRequestParser(reader)
                answered = 0
                while True:
                    data = self.request.recv(65536)
                    if not data:
                        return
                    received += data
                    parser.feed_data(data)
                    for message in reader.messages[answered:]:
                        if not message.complete:
                            break
                        answered += 1
                        if message.url == b"/healthz":  # the router's probes: not counted
                            self.request.sendall(OK)
                            continue
                        if all(stream is not received for stream in upstream.streams):
                            upstream.streams.append(received)
                        upstream.messages.append(message)
                        upstream.ready.wait(30)
                        reply = upstream.answer(message)
                        if reply is None:
                            return
                        self.request.sendall(reply)
                        if isinstance(reply, Closing):
                            return

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield upstream.url
        finally:
            upstream.ready.set()
            server.shutdown()
            server.server_close()


@contextmanager
def routed(upstream: RawUpstream, **overrides: Any) -> Iterator[str]:
    with upstream.serving() as url:
        settings = Settings(test_url=url, live_url=url, **{"test_max_rate": 0, **overrides})
        with serving(create_app(settings)) as router:
            yield router


def test_a_body_reaches_the_stack_byte_for_byte_under_its_content_length() -> None:
    upstream = RawUpstream()
    body = bytes(range(256)) * 300  # every byte value, 76800 bytes
    with routed(upstream) as url:
        response = httpx.post(url + "/v1/files?a=%20b", content=body, headers=KEY)
    assert (response.status_code, response.content) == (200, b"ok")
    [message] = upstream.messages
    assert message.url == b"/v1/files?a=%20b"
    assert message.header(b"content-length") == b"76800"
    assert message.header(b"transfer-encoding") is None
    assert message.header(b"x-request-id") == b"req_0123456789abcdef"
    assert message.body == body
    # Exactly one message, its body the last bytes of the stream and nothing after them.
    [stream] = upstream.streams
    assert stream.endswith(b"\r\n\r\n" + body)


def test_a_chunked_request_is_forwarded_chunked_with_the_same_body() -> None:
    upstream = RawUpstream()

    def parts() -> Iterator[bytes]:
        yield b'{"amount": '
        yield b"1000}"

    with routed(upstream) as url:
        response = httpx.post(url + "/v1/charges", content=parts(), headers=KEY)
    assert response.status_code == 200
    [message] = upstream.messages
    assert message.header(b"transfer-encoding") == b"chunked"
    assert message.header(b"content-length") is None
    assert message.body == b'{"amount": 1000}'
    assert upstream.streams[0].endswith(b"0\r\n\r\n")


def test_connection_and_host_are_the_routers_own() -> None:
    upstream = RawUpstream()
    with routed(upstream) as url:
        httpx.get(url + "/v1/x", headers={**KEY, "connection": "keep-alive", "expect": "nothing"})
    [message] = upstream.messages
    names = [name.lower() for name, _ in message.headers]
    assert names.count(b"host") == 1
    assert message.header(b"host") == upstream.url.removeprefix("http://").encode()
    assert b"connection" not in names and b"expect" not in names
    assert message.header(b"authorization") == b"Bearer sk_test_1"


def test_keep_alive_connections_are_reused() -> None:
    upstream = RawUpstream()
    with routed(upstream) as url, httpx.Client(headers=KEY) as client:
        for n in range(10):
            assert client.post(url + "/v1/x", content=b"n=%d" % n).status_code == 200
            assert client.get(url + "/v1/x").status_code == 200
    assert len(upstream.messages) == 20
    assert len(upstream.streams) == 1


def test_a_stack_closing_before_it_answers_a_post_is_502_and_not_sent_again() -> None:
    upstream = RawUpstream(answer=lambda _: None)
    with routed(upstream) as url:
        response = httpx.post(url + "/v1/charges", content=b"amount=1", headers=KEY)
    assert (response.status_code, response.json()["error"]["code"]) == (
        502,
        "upstream_unavailable",
    )
    assert len(upstream.messages) == 1  # a charge is never sent twice by the router


def test_a_get_on_a_pooled_connection_the_stack_closed_is_sent_again_on_a_fresh_one() -> None:
    answers = iter([OK, None, OK])  # the second request finds the connection closed
    upstream = RawUpstream(answer=lambda _: next(answers))
    with routed(upstream) as url, httpx.Client(headers=KEY) as client:
        assert client.get(url + "/v1/x").status_code == 200
        assert client.get(url + "/v1/x").status_code == 200
    assert len(upstream.messages) == 3 and len(upstream.streams) == 2


def test_a_malformed_answer_is_502() -> None:
    # Two lengths: the framing is ambiguous, and llhttp refuses it.
    upstream = RawUpstream(
        answer=lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nok"
    )
    with routed(upstream) as url:
        response = httpx.get(url + "/v1/x", headers=KEY)
    assert (response.status_code, response.json()["error"]["code"]) == (
        502,
        "upstream_unavailable",
    )


def test_a_slow_stack_is_504_and_its_connection_is_not_reused() -> None:
    upstream = RawUpstream()
    with routed(upstream, test_timeout_seconds=0.3) as url:
        upstream.ready.clear()
        slow = httpx.get(url + "/v1/x", headers=KEY)
        upstream.ready.set()
        assert (slow.status_code, slow.json()["error"]["code"]) == (504, "upstream_timeout")
        assert httpx.get(url + "/v1/x", headers=KEY).status_code == 200
    assert len(upstream.streams) == 2


def test_a_stack_that_refuses_connections_is_502() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening
        with serving(create_app(Settings(test_url=url, live_url=url))) as router:
            response = httpx.get(router + "/v1/x", headers=KEY)
    assert (response.status_code, response.json()["error"]["code"]) == (
        502,
        "upstream_unavailable",
    )


def test_a_head_request_is_answered_with_the_stacks_headers_alone() -> None:
    upstream = RawUpstream(answer=lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
    with routed(upstream) as url, httpx.Client(headers=KEY) as client:
        for _ in range(2):  # the connection stays in step after a HEAD
            response = client.head(url + "/v1/x")
            assert (response.status_code, response.headers["content-length"]) == (200, "5")
    assert len(upstream.streams) == 1


def test_an_answer_without_length_is_read_until_the_stack_closes() -> None:
    upstream = RawUpstream(
        answer=lambda _: Closing(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
    )
    with routed(upstream) as url:
        response = httpx.get(url + "/v1/x", headers=KEY)
    assert (response.status_code, response.content) == (200, b"all of it")


def test_interim_answers_are_passed_over() -> None:
    upstream = RawUpstream(answer=lambda _: b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK)
    with routed(upstream) as url:
        response = httpx.get(url + "/v1/x", headers=KEY)
    assert (response.status_code, response.content) == (200, b"ok")
    assert "link" not in response.headers


def test_an_answer_cut_short_closes_the_clients_connection_and_frees_the_permit() -> None:
    upstream = RawUpstream(
        answer=lambda _: Closing(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
    )
    with routed(upstream) as url:
        with httpx.Client(headers=KEY) as client:
            try:
                client.get(url + "/v1/x").read()
            except httpx.RemoteProtocolError:
                pass  # the client sees the answer end early, never a complete one
            else:
                raise AssertionError("a truncated answer was passed on as complete")
        status = httpx.get(url + "/healthz").json()["stacks"]["test"]
        assert status["in_flight"] == 0
        upstream.answer = lambda _: OK
        assert httpx.get(url + "/v1/x", headers=KEY).status_code == 200


def test_a_stack_that_never_accepts_the_connection_is_504() -> None:
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        queued = []
        for _ in range(3):  # fill the backlog: further connections wait unanswered
            waiting = socket.socket()
            waiting.setblocking(False)
            waiting.connect_ex(("127.0.0.1", port))
            queued.append(waiting)
        url = f"http://127.0.0.1:{port}"
        settings = Settings(
            test_url=url, live_url=url, test_connect_timeout_seconds=0.3, test_timeout_seconds=30
        )
        try:
            with serving(create_app(settings)) as router:
                response = httpx.get(router + "/v1/x", headers=KEY, timeout=10)
        finally:
            for waiting in queued:
                waiting.close()
    assert (response.status_code, response.json()["error"]["code"]) == (504, "upstream_timeout")
