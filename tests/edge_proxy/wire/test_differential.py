"""The edge and the services' parser never disagree on a message boundary.

The services run uvicorn with h11. The same client bytes go through the edge's reader
(llhttp plus the edge's rules), through h11 and through llhttp alone (httptools, strict):
whenever the edge accepts a message, h11 and llhttp read the same method, target, version,
headers and body, and h11 leaves the same bytes for the next message; whatever h11 would
read differently, the edge refuses. The bytes are generated (hypothesis: well-formed
requests with every framing header, mutated line by line) and taken from a fixed corpus of
known smuggling framings.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import h11
import httptools
from hypothesis import example, given
from hypothesis import strategies as st

from edge_proxy.wire.parse import Malformed
from edge_proxy.wire.reader import RequestReader
from tests.edge_proxy.wire.test_smuggling import CASES


@dataclass(frozen=True)
class Reading:
    """One request as a parser reads it, and the bytes it leaves for the next one."""

    method: bytes
    target: bytes
    version: bytes
    headers: tuple[tuple[bytes, bytes], ...]  # names lowercased, as each parser keeps them
    body: bytes
    rest: bytes


REFUSED, INCOMPLETE = "refused", "incomplete"
Outcome = Reading | str


def _headers(pairs: list[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
    # h11 lowercases the value of Transfer-Encoding (the one it accepts is "chunked")
    return tuple(
        (name.lower(), value.lower() if name.lower() == b"transfer-encoding" else value)
        for name, value in pairs
    )


def edge_reads(raw: bytes, cuts: list[int] | None = None) -> Outcome:
    """The edge's reading, the bytes fed whole or cut where `cuts` says."""
    reader = RequestReader(max_head=32 * 1024, max_body=1 << 20)
    pieces, position = [], 0
    for cut in cuts or []:
        pieces.append(raw[position : position + cut])
        position += cut
    pieces.append(raw[position:])
    rest: bytes | None = None
    try:
        for number, piece in enumerate(pieces):
            if rest is not None:
                rest += piece
            else:
                rest = reader.feed(piece)
                if rest is None and number == len(pieces) - 1:
                    return INCOMPLETE
    except Malformed:
        return REFUSED
    head = reader.head
    assert head is not None and rest is not None
    return Reading(
        head.method.encode(),
        head.target,
        head.version.encode(),
        _headers(head.headers),
        reader.body,
        rest,
    )


def h11_reads(raw: bytes) -> Outcome:
    """What uvicorn's h11 (the services' parser) reads from the same bytes."""
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(raw)
    body = b""
    try:
        request = connection.next_event()
        if request is h11.NEED_DATA:
            return INCOMPLETE
        assert isinstance(request, h11.Request)
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                return INCOMPLETE
            if isinstance(event, h11.Data):
                body += event.data
                continue
            assert isinstance(event, h11.EndOfMessage)
            break
    except h11.RemoteProtocolError:
        return REFUSED
    return Reading(
        request.method,
        request.target,
        request.http_version,
        _headers([(name, value) for name, value in request.headers.raw_items()]),
        body,
        connection.trailing_data[0],  # h11 reads nothing more until the answer is sent
    )


class _Messages:
    """Every message llhttp reads from a byte stream, whole ones only."""

    def __init__(self) -> None:
        self.done: list[tuple[bytes, tuple[tuple[bytes, bytes], ...], bytes]] = []
        self._url, self._headers, self._body = b"", [], b""  # type: ignore[var-annotated]

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value.rstrip(b" \t")))

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        self.done.append((self._url, _headers(self._headers), self._body))
        self._url, self._headers, self._body = b"", [], b""


def llhttp_reads(raw: bytes) -> list[tuple[bytes, tuple[tuple[bytes, bytes], ...], bytes]]:
    """The messages plain llhttp (no leniency, no edge rules) reads before it stops."""
    messages = _Messages()
    with contextlib.suppress(httptools.HttpParserError, httptools.HttpParserUpgrade):
        httptools.HttpRequestParser(messages).feed_data(raw)
    return messages.done


def assert_agreement(raw: bytes, cuts: list[int] | None = None) -> Outcome:
    """The edge refuses `raw`, or reads it as h11 and llhttp do; the edge's outcome."""
    edge = edge_reads(raw, cuts)
    assert edge == edge_reads(raw), "the edge reads the bytes differently as they arrive"
    backend = h11_reads(raw)
    if edge is REFUSED:
        return edge
    if edge is INCOMPLETE:
        assert backend in (INCOMPLETE, REFUSED), "h11 sees a message end the edge does not"
        return edge
    assert isinstance(edge, Reading)
    assert backend == edge, "h11 reads another request, or another boundary, than the edge"
    alone, following = llhttp_reads(raw), llhttp_reads(edge.rest)
    assert alone[0] == (edge.target, edge.headers, edge.body)
    # what follows the boundary reads the same on its own: llhttp agrees where it is
    assert alone[1 : 1 + len(following)] == following[: len(alone) - 1]
    return edge


# -- a fixed corpus ----------------------------------------------------------------------

VALID = {
    "get": b"GET /v1/charges?limit=3 HTTP/1.1\r\nHost: api.localhost\r\n\r\n",
    "post_length": b"POST /v1/charges HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde",
    "post_chunked": b"POST /v1/charges HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n",
    "chunked_case": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
    "length_zeros": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nabcde",
    "chunk_zeros": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0003\r\nabc\r\n000\r\n\r\n",
    "http10": b"GET / HTTP/1.0\r\n\r\n",
    "http10_length": b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nab",
    "get_with_body": b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab",
    "whitespace": b"GET / HTTP/1.1\r\nHost:a\r\nX-A: \t v  w \t\r\nX-B:\r\n\r\n",
    "obs_text": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xe9\r\n\r\n",
    "pipelined": b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    "pipelined_after_body": b"POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx"
    b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    "pipelined_after_chunks": b"POST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1\r\nx\r\n0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    "close_then_more": b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n",
    "upgrade_no_body": b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
    "te_tab_before_value": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n"
    b"0\r\n\r\n",
    "te_trailing_space": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n"
    b"0\r\n\r\n",
    "cl_tab": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t3\r\n\r\nabc",
    "expect": b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
}

# Known framings beyond test_smuggling's: each one that two parsers have read differently.
SMUGGLING = {
    **CASES,
    "te_then_bogus_te": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
    b"Transfer-Encoding: x\r\n\r\n0\r\n\r\n",
    "te_quoted": b'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n',
    "te_comma_chunked": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n"
    b"0\r\n\r\n",
    "te_gzip_chunked": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    b"0\r\n\r\n",
    "te_null": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n",
    "cl_short_body": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
    "cl_comma_empty": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3,\r\n\r\nabc",
    "cl_overflow": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551617\r\n\r\n",
    "chunk_size_overflow": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"10000000000000001\r\nx\r\n0\r\n\r\n",
    "chunk_ext_bare_lf": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1;a\nx\r\nx\r\n0\r\n\r\n",
    "chunk_ext_quoted_crlf": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'1;a="\r\nx"\r\nx\r\n0\r\n\r\n',
    "chunk_missing_crlf": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1\r\nx0\r\n\r\n",
    "chunk_last_without_crlf": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "chunk_trailer_te": b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\nTransfer-Encoding: chunked\r\n\r\n",
    "header_space_in_name": b"GET / HTTP/1.1\r\nHost: a\r\nContent Length: 3\r\n\r\nabc",
    "header_cr_only": b"GET / HTTP/1.1\r\nHost: a\rContent-Length: 3\r\n\r\nabc",
    "request_line_trailing_space": b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
    "http09": b"GET /\r\n",
    "http11_no_minor": b"GET / HTTP/1\r\nHost: a\r\n\r\n",
    "upgrade_with_body": b"POST / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
    b"Content-Length: 3\r\n\r\nabc",
    "connect": b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
    "pri": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}


def test_the_corpus_is_read_alike_and_its_valid_part_accepted():
    for name, raw in VALID.items():
        assert isinstance(assert_agreement(raw), Reading), name
    for name, raw in SMUGGLING.items():
        assert assert_agreement(raw) in (REFUSED, INCOMPLETE), name
    assert len(SMUGGLING) >= 75


# -- generated requests ------------------------------------------------------------------

# Each choice: (what a careful client sends, what a smuggler or a sloppy client sends).
EOL = ([b"\r\n"], [b"\n", b"\r", b"\r\n ", b"\r\n\t", b"\r\r\n", b"\n\r"])
METHODS = ([b"GET", b"POST", b"PUT", b"PATCH", b"OPTIONS", b"HEAD"], [b"get", b"FOO", b"CONNECT"])
SPACES = ([b" "], [b"  ", b"\t", b" \t"])
TARGETS = (
    [b"/", b"/v1/charges", b"/v1/x?a=1&b=%20", b"/a/{b}|c'\""],
    [b"*", b"http://a/", b"", b"/\x7f", b"/\xe9", b"/a#b", b"/a b"],
)
VERSIONS = ([b"HTTP/1.1", b"HTTP/1.0"], [b"HTTP/2.0", b"HTTP/1.2", b"HTTP/1", b"http/1.1", b""])
NAMES = (
    [b"Connection", b"Expect", b"X-A", b"Accept", b"Content-Type", b"Upgrade"],
    [
        *(b"Host", b"Content-Length", b"Transfer-Encoding", b"content-length", b"Te"),
        *(b"TRANSFER-ENCODING", b"Content_Length", b"Transfer_Encoding", b"Content-Length "),
        *(b" Host", b"Trailer"),
    ],
)
COLONS = ([b": ", b":", b":\t", b":  "], [b" :", b": \x0b", b":\x00"])
VALUES = (
    [b"close", b"keep-alive", b"upgrade", b"h2c", b"100-continue", b"caf\xe9", b"", b"a  b"],
    [
        *(b"chunked", b"Chunked", b"gzip, chunked", b"chunked, identity", b"identity", b"0"),
        *(b"3", b"03", b"+3", b"3, 3", b" 3", b"3 ", b"-1", b"a\x00b", b"a\rb", b"a\nb"),
    ],
)
SIZES = ([b"%x", b"%X", b"00%x"], [b"%x;a=b", b"%x ", b"%x\t", b"0x%x", b"000000000%x", b"+%x"])
LAST_CHUNKS = ([b"0\r\n\r\n", b"00\r\n\r\n"], [b"0\r\nX: 1\r\n\r\n", b"0\r\n", b"0;a\r\n\r\n"])
LEADING = ([b""], [b"\r\n", b"\n", b" "])


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A request as a careful client writes it, or (half the time) with some of its parts
    swapped for odd ones: framing headers, misspelled chunks, stray CR, LF and spaces."""
    odd = draw(st.booleans())

    def pick(choices: tuple[list[bytes], list[bytes]]) -> bytes:
        usual, unusual = choices
        return draw(st.sampled_from(unusual if odd and draw(st.integers(0, 4)) == 0 else usual))

    lines = [pick(METHODS) + pick(SPACES) + pick(TARGETS) + b" " + pick(VERSIONS)]
    if not odd or draw(st.integers(0, 9)):
        lines.append(b"Host: api.localhost")
    for _ in range(draw(st.integers(0, 4))):
        lines.append(pick(NAMES) + pick(COLONS) + pick(VALUES))
    body = draw(st.binary(max_size=24))
    framing = draw(st.sampled_from(["length", "chunked", "none", "wrong"]))
    if framing == "length":
        lines.append(b"Content-Length: %d" % len(body))
    elif framing == "wrong":
        lines.append(b"Content-Length: %d" % draw(st.integers(0, 30)))
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        chunks, rest = b"", body
        while rest:
            size = draw(st.integers(1, len(rest)))
            chunks += pick(SIZES) % size + pick(EOL) + rest[:size] + pick(EOL)
            rest = rest[size:]
        body = chunks + pick(LAST_CHUNKS)
    elif body and draw(st.booleans()):
        body = b""  # a body with no framing is the next message's start: keep some
    head = b"".join(line + pick(EOL) for line in lines) + pick(EOL)
    following = draw(st.sampled_from([b"", b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n", b"X"]))
    return pick(LEADING) + head + body + following


@given(requests(), st.lists(st.integers(1, 40), max_size=6))
@example(VALID["pipelined_after_chunks"], [60, 3, 1])
def test_the_edge_accepts_only_what_h11_and_llhttp_read_alike(raw, cuts):
    assert_agreement(raw, cuts)


@given(st.binary(max_size=80), st.sampled_from(list(VALID.values())))
def test_bytes_appended_to_a_valid_request_never_move_its_boundary(noise, raw):
    assert_agreement(raw + noise)
