"""The edge and the backends never disagree on where a message ends: whatever request the
edge accepts and forwards, h11 (the parser of the services behind it) reads the edge's
message as exactly one request, with the same method, target and body, and nothing after.
"""

from __future__ import annotations

import h11
from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.flow import EdgeRequest
from edge_proxy.headers import upstream_headers
from edge_proxy.wire.client import UpstreamPool
from edge_proxy.wire.messages import request_from_head
from edge_proxy.wire.parse import Malformed
from edge_proxy.wire.reader import RequestReader

TOKEN = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
VALUE = st.text("abcdefghij 0123456789;=,/:-_.", max_size=30).map(str.strip)
FRAMING = st.sampled_from(
    ["content-length", "transfer-encoding", "host", "connection", "te", "expect", "trailer"]
)


@st.composite
def client_requests(draw: st.DrawFn) -> bytes:
    """Requests as a client might send them, framing headers included, some malformed."""
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]))
    target = "/" + draw(st.text("abcdefghij0123456789/%?=&", max_size=20))
    body = draw(st.binary(max_size=64))
    lines = [f"{method} {target} HTTP/1.1", "Host: api.localhost"]
    for name, value in draw(st.lists(st.tuples(st.one_of(TOKEN, FRAMING), VALUE), max_size=6)):
        lines.append(f"{name}: {value}")
    chunked = draw(st.booleans())
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = (b"%x\r\n" % len(body) + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def edge_reads(raw: bytes) -> EdgeRequest | None:
    """The request the edge's server would read from `raw`, or None if it refuses it."""
    reader = RequestReader(1 << 16, 1 << 20)
    try:
        rest = reader.feed(raw)
    except Malformed:
        return None
    assert rest == b"" and reader.head is not None
    return request_from_head(reader.head, reader.body, "203.0.113.7")


@given(client_requests())
def test_h11_reads_what_the_edge_forwards_as_one_and_the_same_request(raw):
    request = edge_reads(raw)
    if request is None:
        return  # refused: nothing is forwarded
    pool = UpstreamPool("http://router.internal:8081", timeout=1, max_response_bytes=1)
    target = request.raw_path + (b"?" + request.query_string if request.query_string else b"")
    message = pool.message(request.method, target, upstream_headers(request, "req_x"), request.body)

    backend = h11.Connection(h11.SERVER)
    backend.receive_data(message)
    event = backend.next_event()
    assert isinstance(event, h11.Request)
    assert (event.method.decode(), event.target) == (request.method, target)
    body = b""
    while True:
        event = backend.next_event()
        if isinstance(event, h11.Data):
            body += event.data
            continue
        assert isinstance(event, h11.EndOfMessage)
        break
    assert body == request.body
    # The message ended where the edge meant it to, and no byte follows it (PAUSED would
    # mean h11 holds bytes it reads as the start of another request).
    assert backend.next_event() is h11.NEED_DATA
    assert backend.trailing_data == (b"", False)
