import contextlib
import gc
import weakref
from pathlib import Path

import httptools
import pytest
from hypothesis import given
from hypothesis import strategies as st

import edge_proxy
from edge_proxy.wire.parse import (
    MAX_CHUNKS,
    MAX_HEADERS,
    Framing,
    Malformed,
    RequestHead,
    ResponseHead,
)
from edge_proxy.wire.reader import RequestReader, ResponseReader


def read(
    raw: bytes, max_head: int = 1024, max_body: int = 1000
) -> tuple[RequestHead, bytes, bytes]:
    """A whole request's head and body, and the bytes after it."""
    reader = RequestReader(max_head, max_body)
    rest = reader.feed(raw)
    assert rest is not None and reader.head is not None, "incomplete"
    return reader.head, reader.body, rest


def test_a_request_head_is_parsed_with_lowercased_names():
    head, body, rest = read(
        b"POST /v1/charges?x=1 HTTP/1.1\r\nHost: api.localhost\r\nX-A:  v  \r\n"
        b'Content-Length: 12\r\n\r\n{"amount":1}GET'
    )
    assert (head.method, head.target, head.version) == ("POST", b"/v1/charges?x=1", "1.1")
    assert head.headers == [(b"host", b"api.localhost"), (b"x-a", b"v"), (b"content-length", b"12")]
    assert head.framing == Framing(length=12)
    assert head.keep_alive
    assert (body, rest) == (b'{"amount":1}', b"GET")


def test_keep_alive_follows_version_and_connection():
    assert not read(b"GET / HTTP/1.0\r\n\r\n")[0].keep_alive
    close = read(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n")[0]
    assert not close.keep_alive


def test_options_star_is_the_one_other_target():
    assert read(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")[0].target == b"*"
    with pytest.raises(Malformed):
        read(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n")


def test_a_head_arriving_in_pieces_is_refused_at_its_first_bare_lf():
    reader = RequestReader(1024, 1000)
    assert reader.feed(b"GET / HTTP/1.1\r\nHost: a\r\n") is None
    with pytest.raises(Malformed):
        RequestReader(1024, 1000).feed(b"GET / HTTP/1.1\nHost")


def test_a_head_over_the_limit_is_431_whole_or_in_pieces():
    with pytest.raises(Malformed) as whole:
        read(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 100 + b"\r\n\r\n", max_head=64)
    assert whole.value.status == 431
    reader = RequestReader(64, 1000)
    reader.feed(b"GET / HTTP/1.1\r\nX: " + b"a" * 40)
    with pytest.raises(Malformed) as pieces:
        reader.feed(b"a" * 40)
    assert pieces.value.status == 431


def test_more_than_max_headers_is_431():
    lines = b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS))
    with pytest.raises(Malformed) as info:
        read(b"GET / HTTP/1.1\r\nHost: a\r\n" + lines + b"\r\n", max_head=1 << 16)
    assert info.value.status == 431


def test_versions_other_than_1_0_and_1_1_are_refused():
    with pytest.raises(Malformed) as two:
        read(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n")
    assert two.value.status == 505
    with pytest.raises(Malformed) as nine:
        read(b"GET /\r\n\r\n")
    assert nine.value.status == 400


def test_an_upgrade_request_is_read_as_a_plain_one_unless_it_has_a_body():
    upgrade = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n"
    head, _, rest = read(upgrade + b"\r\nGET")
    assert head.target == b"/" and rest == b"GET"
    with pytest.raises(Malformed):
        read(upgrade + b"Content-Length: 3\r\n\r\nabc")


def response(raw: bytes, method: str = "GET") -> tuple[ResponseHead, bytes, bytes | None]:
    """A response's head, its body so far, and the bytes after it (None: not whole)."""
    reader = ResponseReader(1024, 1000, method)
    rest = reader.feed(raw)
    assert reader.head is not None
    return reader.head, reader.body, rest


def test_response_framing():
    ok, body, rest = response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    assert ok.framing == Framing(length=3) and ok.keep_alive and (body, rest) == (b"abc", b"")
    head, _, rest = response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "HEAD")
    assert head.framing.length == 0 and rest == b""
    close, body, rest = response(b"HTTP/1.1 200 OK\r\n\r\nabc")
    assert close.framing.until_close and not close.keep_alive and rest is None
    assert body == b"abc"
    empty, _, rest = response(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert empty.framing.length == 0 and rest == b""
    assert response(b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n")[0].status == 200
    interim, _, rest = response(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert interim.status == 100 and rest == b"HTTP/1.1 200 OK\r\n"


def test_a_response_declaring_more_than_the_limit_is_413():
    with pytest.raises(Malformed) as info:
        response(b"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n")
    assert info.value.status == 413


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


CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


@given(
    st.binary(max_size=300),
    st.lists(st.integers(1, 64), max_size=8),
    st.lists(st.integers(1, 40), max_size=20),
    st.binary(max_size=10),
)
def test_chunked_bodies_decode_however_they_arrive(body, sizes, cuts, after):
    wire = CHUNKED_HEAD + chunked(body, sizes) + after
    reader = RequestReader(max_head=1024, max_body=1000)
    rest, position = None, 0
    for cut in [*cuts, len(wire)]:
        piece = wire[position : position + cut]
        position += cut
        if rest is not None:
            rest += piece
        else:
            rest = reader.feed(piece)
    assert reader.done and reader.body == body and rest == after


@pytest.mark.parametrize(
    "framing",
    [b"1;ext=1\r\nx\r\n0\r\n\r\n", b"000000001\r\nx\r\n0\r\n\r\n", b"1\r\nx\r\n0\r\nT: 1\r\n\r\n"],
)
def test_what_llhttp_reads_in_a_chunked_body_but_the_edge_does_not(framing):
    with pytest.raises(Malformed):
        read(CHUNKED_HEAD + framing)
    with pytest.raises(Malformed):  # however it arrives
        reader = RequestReader(1024, 1000)
        for byte in CHUNKED_HEAD + framing:
            reader.feed(bytes([byte]))


def test_a_chunk_size_line_that_never_ends_is_refused_as_it_comes():
    reader = RequestReader(1024, 1000)
    reader.feed(CHUNKED_HEAD)
    with pytest.raises(Malformed):
        reader.feed(b"1;" + b"a" * 20)


def test_chunked_over_the_limit_is_413():
    with pytest.raises(Malformed) as info:
        read(CHUNKED_HEAD + b"5\r\nhello\r\n0\r\n\r\n", max_body=4)
    assert info.value.status == 413


# Each of llhttp's leniencies, with a message that only it lets through: the edge's reader
# refuses every one, so none is set (and none may be: the edge is strict by llhttp's default).
LENIENCIES = {
    "lenient_headers": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
    "lenient_chunked_length": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Length: 1\r\n\r\n0\r\n\r\n",
    "lenient_keep_alive": b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET",
    "lenient_transfer_encoding": b"POST / HTTP/1.1\r\nHost: a\r\n"
    b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "lenient_version": b"GET / HTTP/1.9\r\nHost: a\r\n\r\n",
    "lenient_data_after_close": b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET",
    "lenient_optional_lf_after_cr": b"GET / HTTP/1.1\rHost: a\r\n\r\n",
    "lenient_optional_cr_before_lf": b"GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n",
    "lenient_optional_crlf_after_chunk": b"POST / HTTP/1.1\r\nHost: a\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n1\r\nx0\r\n\r\n",
    "lenient_spaces_after_chunk_size": b"POST / HTTP/1.1\r\nHost: a\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n",
}


class _Quiet:
    def on_message_complete(self) -> None:
        pass


@pytest.mark.parametrize("leniency", list(LENIENCIES))
def test_llhttp_runs_without_any_leniency(leniency):
    raw = LENIENCIES[leniency]
    strict = httptools.HttpRequestParser(_Quiet())
    with pytest.raises(httptools.HttpParserError):
        strict.feed_data(raw)
    lenient = httptools.HttpRequestParser(_Quiet())
    lenient.set_dangerous_leniencies(**{leniency: True})
    lenient.feed_data(raw)  # the message tells this leniency apart
    reader = RequestReader(1024, 1000)
    try:
        reader.feed(raw)
    except Malformed:
        return
    # Read up to a "Connection: close": the server answers it and closes, reading no more.
    assert reader.done and reader.head is not None and not reader.head.keep_alive


def test_no_leniency_is_ever_set():
    package = Path(edge_proxy.__file__).parent
    for source in package.rglob("*.py"):
        assert "lenien" not in source.read_text().replace("no leniency", ""), source


def test_a_body_in_too_many_chunks_is_refused_before_it_holds_the_loop():
    within = b"1\r\nx\r\n" * (MAX_CHUNKS - 1) + b"0\r\n\r\n"
    assert read(CHUNKED_HEAD + within, max_body=1 << 20)[1] == b"x" * (MAX_CHUNKS - 1)
    with pytest.raises(Malformed):
        read(CHUNKED_HEAD + b"1\r\nx\r\n" * MAX_CHUNKS + b"0\r\n\r\n", max_body=1 << 20)


@pytest.mark.parametrize(
    "raw",
    [
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxGET",
        CHUNKED_HEAD + b"0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",  # refused by llhttp
        b"GET / HTTP/1.1\r\nHost: a\r\nContent_Length: 1\r\n\r\n",  # by the edge's rules
    ],
)
def test_a_reader_is_freed_at_once_not_by_the_cycle_collector(raw):
    reader = RequestReader(1024, 1000)
    with contextlib.suppress(Malformed):
        reader.feed(raw)
    gone = weakref.ref(reader)
    gc.disable()
    try:
        del reader
        assert gone() is None  # parser and reader no longer refer to each other
    finally:
        gc.enable()
