"""The services behind the edge parse with llhttp (httptools), as uvicorn runs it: whatever
request the edge accepts and forwards, that parser reads as exactly one request, with the
same method, target and body, and nothing after it (what tests/edge_proxy's agreement test
shows for h11)."""

from __future__ import annotations

import httptools
from hypothesis import given

from edge_proxy.headers import upstream_headers
from edge_proxy.wire.client import UpstreamPool
from servicekit.serving import SERVER_OPTIONS
from tests.edge_proxy.wire.test_backend_agreement import client_requests, edge_reads


class _Backend:
    """Collects what llhttp reads, message by message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, bytes]] = []

    def on_message_begin(self) -> None:
        self.messages.append({"url": b"", "body": b"", "complete": b""})

    def on_url(self, url: bytes) -> None:
        self.messages[-1]["url"] += url

    def on_body(self, body: bytes) -> None:
        self.messages[-1]["body"] += body

    def on_message_complete(self) -> None:
        self.messages[-1]["complete"] = b"yes"


def test_every_service_is_served_by_llhttp() -> None:
    assert SERVER_OPTIONS["http"] == "httptools"


@given(client_requests())
def test_llhttp_reads_what_the_edge_forwards_as_one_and_the_same_request(raw: bytes) -> None:
    request = edge_reads(raw)
    if request is None:
        return  # refused: nothing is forwarded
    pool = UpstreamPool("http://router.internal:8081", timeout=1, max_response_bytes=1)
    target = request.raw_path + (b"?" + request.query_string if request.query_string else b"")
    message = pool.message(request.method, target, upstream_headers(request, "req_x"), request.body)

    backend = _Backend()
    parser = httptools.HttpRequestParser(backend)
    parser.set_dangerous_leniencies(lenient_data_after_close=True)  # as uvicorn sets it
    parser.feed_data(message)
    assert len(backend.messages) == 1
    read = backend.messages[0]
    assert read["complete"] == b"yes"
    assert (parser.get_method().decode(), read["url"]) == (request.method, target)
    assert read["body"] == request.body
