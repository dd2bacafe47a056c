import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.wire.parse import (
    ChunkedReader,
    Framing,
    Malformed,
    head_end,
    parse_request_head,
    parse_response_head,
)


def test_a_request_head_is_parsed_with_lowercased_names():
    head = parse_request_head(
        b"POST /v1/charges?x=1 HTTP/1.1\r\nHost: api.localhost\r\nX-A:  v  \r\n"
        b"Content-Length: 12\r\n\r\n"
    )
    assert (head.method, head.target, head.version) == ("POST", b"/v1/charges?x=1", "1.1")
    assert head.headers == [(b"host", b"api.localhost"), (b"x-a", b"v"), (b"content-length", b"12")]
    assert head.framing == Framing(length=12)
    assert head.keep_alive


def test_keep_alive_follows_version_and_connection():
    assert not parse_request_head(b"GET / HTTP/1.0\r\n\r\n").keep_alive
    close = parse_request_head(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n")
    assert not close.keep_alive


def test_options_star_is_the_one_other_target():
    assert parse_request_head(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target == b"*"
    with pytest.raises(Malformed):
        parse_request_head(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n")


def test_head_end_waits_for_the_blank_line_and_refuses_a_bare_lf_early():
    assert head_end(b"GET / HTTP/1.1\r\nHost: a\r\n") == -1
    assert head_end(b"GET / HTTP/1.1\r\n\r\nbody") == 18
    with pytest.raises(Malformed):
        head_end(b"GET / HTTP/1.1\nHost")


def test_response_framing():
    ok = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", request_method="GET")
    assert ok.framing == Framing(length=3) and ok.keep_alive
    head = parse_response_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", request_method="HEAD"
    )
    assert head.framing.length == 0
    close = parse_response_head(b"HTTP/1.1 200 OK\r\n\r\n", request_method="GET")
    assert close.framing.until_close and not close.keep_alive
    empty = parse_response_head(b"HTTP/1.1 204 No Content\r\n\r\n", request_method="GET")
    assert empty.framing.length == 0
    assert parse_response_head(b"HTTP/1.1 200 \r\n\r\n", request_method="GET").status == 200


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out, rest = b"", body
    for size in sizes:
        if not rest:
            break
        piece, rest = rest[:size], rest[size:]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    if rest:
        out += b"%X\r\n" % len(rest) + rest + b"\r\n"
    return out + b"0\r\n\r\n"


@given(
    st.binary(max_size=300),
    st.lists(st.integers(1, 64), max_size=8),
    st.lists(st.integers(1, 40), max_size=20),
    st.binary(max_size=10),
)
def test_chunked_bodies_decode_however_they_arrive(body, sizes, cuts, after):
    wire = chunked(body, sizes) + after
    reader = ChunkedReader(max_bytes=1000)
    rest, position = b"", 0
    for cut in [*cuts, len(wire)]:
        piece = wire[position : position + cut]
        position += cut
        if reader.done:
            rest += piece
        else:
            rest = reader.feed(piece)
    assert reader.done and bytes(reader.body) == body and rest == after


def test_chunked_over_the_limit_is_413():
    with pytest.raises(Malformed) as info:
        ChunkedReader(max_bytes=4).feed(b"5\r\nhello\r\n0\r\n\r\n")
    assert info.value.status == 413
