"""HTTP/1.1 message framing on llhttp, with the edge's own refusals on top.

Request smuggling lives in the gap between two parsers that read the same bytes as
different messages. The edge reads every message with llhttp (through httptools: the
parser of Node.js and uvicorn), in its default strict mode, with no leniency ever set: it
refuses Content-Length with Transfer-Encoding, a duplicate or non-numeric Content-Length,
obs-fold, a bare CR or LF, a space before a colon, control characters, malformed chunks.
On top of it the edge refuses what llhttp reads but the edge will not (`Malformed`; the
server answers 400 or the status given and closes the connection):

- an empty line before the request line (llhttp skips it), more than one space between
  the parts of the request line, versions other than 1.0 and 1.1 (0.9 and 2.0 included);
- a target that is not origin-form (``/…``), or ``*`` for OPTIONS; no fragment;
- a Host missing or repeated in HTTP/1.1, repeated in 1.0;
- ``Content_Length``, ``Transfer_Encoding`` or ``Host`` with an underscore;
- a Content-Length of more than 18 digits; a Transfer-Encoding other than exactly one
  ``chunked`` (never on HTTP/1.0); a request that asks to upgrade and has a body;
- chunk extensions, chunk sizes of more than 8 hex digits, trailers, over `MAX_CHUNKS`;
- more than `MAX_HEADERS` headers, a head over its limit (431), a body over its (413).

Each message gets a parser of its own, stopped at the message's end (httptools can neither
pause llhttp nor say where it stopped). The edge finds that end itself and checks llhttp
agrees: the head's first CRLF CRLF, then the length, or the chunks llhttp counted, each size
line read again. The bytes after it start the next message and are the caller's. The edge
never forwards the client's framing: it sends each upstream a fresh Content-Length for the
body it read, so a backend cannot read another boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httptools

Headers = list[tuple[bytes, bytes]]

MAX_HEADERS = 100  # as Apache's LimitRequestFields; a header block is not a data store
# Each chunk costs a few microseconds of Python on the event loop: a megabyte sent a byte
# per chunk would hold every other client for a second. Real clients send kilobytes each.
MAX_CHUNKS = 4096
MAX_CHUNK_SIZE_DIGITS = 8  # 4 GiB: any larger chunk is over every body limit anyway
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")  # MAX_CHUNK_SIZE_DIGITS
_SIZE_LINE = MAX_CHUNK_SIZE_DIGITS + 2  # with its CRLF
_ORIGIN_FORM = re.compile(rb"/[\x21\x22\x24-\x7e]*")  # visible ASCII but "#"
# Some servers read "_" as "-" in header names (CGI-style variables): these would be
# framing or routing headers to them and a harmless header to the edge.
_LOOKALIKES = frozenset({b"content-length", b"transfer-encoding", b"host"})


class Malformed(Exception):
    """The bytes are not one unambiguous HTTP/1.1 message; `reason` is safe to log."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class Framing:
    """How the body of a message is delimited: a length, chunks, or the connection's end."""

    length: int | None = None
    chunked: bool = False
    until_close: bool = False


NO_BODY = Framing(length=0)
CHUNKED = Framing(chunked=True)
UNTIL_CLOSE = Framing(until_close=True)


def _tokens(headers: Headers, name: bytes) -> set[bytes]:
    return {t.strip().lower() for k, v in headers if k == name for t in v.split(b",")}


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    target: bytes
    version: str
    headers: Headers  # names lowercased, values as sent less surrounding whitespace
    framing: Framing

    def values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name]

    @property
    def keep_alive(self) -> bool:
        if self.version == "1.0":
            return False  # HTTP/1.0 keep-alive is a legacy extension the edge does not offer
        return b"close" not in _tokens(self.headers, b"connection")


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    version: str
    headers: Headers
    framing: Framing

    @property
    def keep_alive(self) -> bool:
        close = b"close" in _tokens(self.headers, b"connection")
        return self.version == "1.1" and not close and not self.framing.until_close


def _framing(headers: Headers, version: str) -> Framing | None:
    """The framing the headers declare (llhttp has checked them), None if none; our rules."""
    lengths = [v for k, v in headers if k == b"content-length"]
    codings = [v for k, v in headers if k == b"transfer-encoding"]
    if codings:
        if len(codings) > 1 or codings[0].lower() != b"chunked":
            raise Malformed("Transfer-Encoding other than one chunked")
        if version == "1.0":
            raise Malformed("Transfer-Encoding on HTTP/1.0")
        return CHUNKED
    if lengths:
        if len(lengths[0]) > 18:
            raise Malformed("invalid Content-Length")
        return Framing(length=int(lengths[0]))  # one, of ASCII digits: llhttp checked
    return None


class _Stop(Exception):
    """Raised from on_message_complete so llhttp reads nothing past a message's end."""


class _Reader:
    """One message, read by llhttp and checked by the edge's rules; `feed` it bytes."""

    def __init__(
        self,
        parser: httptools.HttpRequestParser | httptools.HttpResponseParser,
        max_head: int,
        max_body: int,
    ) -> None:
        # The parser holds this reader's callbacks: let go of it as soon as the message is
        # read or refused, or the pair (and the body) would wait for the cycle collector.
        self.parser: httptools.HttpRequestParser | httptools.HttpResponseParser | None = parser
        self.max_head = max_head
        self.max_body = max_body
        self.headers: Headers = []
        self.head_done = False
        self.done = False
        self.framing = NO_BODY
        self.body_seen = 0  # bytes of the body's framing received so far
        self._raw = bytearray()  # a head that came in pieces; a chunked body's bytes unchecked
        self._head_bytes: bytes | bytearray = b""  # starts with the head
        self._pieces: list[bytes] = []  # the body, as llhttp hands it over
        self._received = 0
        self._sizes: list[int] = []  # chunks llhttp has read whole, not yet checked
        self._chunk_start = 0
        self._chunks = 0
        self._tail = -1  # bytes fed after the head with it, -1 if the head came earlier
        self._stop = True  # llhttp must be stopped at the message's end

    @property
    def body(self) -> bytes:
        return b"".join(self._pieces)

    def feed(self, data: bytes) -> bytes | None:
        """Read `data`: None while the message is incomplete, then the bytes after it."""
        in_head = not self.head_done
        start = self._head_end(data) if in_head else 0
        self._tail = len(data) - start if in_head and start >= 0 else -1
        received = self._received
        self._run(memoryview(data))  # llhttp stops at the message's end
        if start < 0:
            return None  # all of it head, and llhttp has refused a bare LF as soon as it came
        if not self.head_done:
            raise Malformed("head not read as one")
        if in_head:
            self._raw.clear()
        self.body_seen += len(data) - start
        if self.framing.chunked:
            self._raw += memoryview(data)[start:]
            return self._check_chunks()
        if not self.done:
            return None
        return data[start + self._received - received :]

    def _head_end(self, data: bytes) -> int:
        """Where the head ends in `data`, -1 if not in it; our checks on its size."""
        raw = self._raw
        if raw:
            search = max(0, len(raw) - 3)
            raw += data
            head: bytes | bytearray = raw
        else:
            if data[:1] in (b"\r", b"\n"):
                raise Malformed("empty line before the start line")  # llhttp would skip it
            search, head = 0, data
        self._head_bytes = head
        end = head.find(b"\r\n\r\n", search)
        if end < 0:
            if len(head) > self.max_head:
                raise Malformed("head too large", 431)
            if head is data:
                raw += data
            return -1
        if end + 4 > self.max_head:
            raise Malformed("head too large", 431)
        return end + 4 - (len(head) - len(data))

    def _check_chunks(self) -> bytes | None:
        """Check the size lines of the chunks llhttp has read: hex digits alone, as many
        as llhttp counted; after the last, the end of the body (no trailers)."""
        raw, position = self._raw, 0
        for size in self._sizes:
            line_end = raw.find(b"\r\n", position, position + _SIZE_LINE)
            line = raw[position:line_end]
            if line_end < 0 or not _CHUNK_SIZE.fullmatch(line) or int(line, 16) != size:
                raise Malformed("malformed chunk size line")
            position = line_end + 2 + size + 2
            if size == 0:
                if raw[line_end + 2 : position] != b"\r\n":
                    raise Malformed("trailers after a chunked body")
                return bytes(raw[position:])
        self._sizes.clear()
        del raw[:position]
        if len(raw) >= _SIZE_LINE and raw.find(b"\r\n", 0, _SIZE_LINE) < 0:
            raise Malformed("malformed chunk size line")  # refused as it comes
        return None

    def _run(self, data: memoryview) -> None:
        """Feed llhttp; its refusals and the edge's (raised from callbacks) as Malformed."""
        try:
            self._feed_llhttp(data)
        except Malformed:
            self.parser = None
            raise
        if self.done:
            self.parser = None

    def _feed_llhttp(self, data: memoryview) -> None:
        assert self.parser is not None
        refusal: Malformed | None = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            cause = error.__context__  # what a callback raised: the end, or a refusal
            if not isinstance(cause, _Stop):
                refusal = cause if isinstance(cause, Malformed) else Malformed("callback failed")
            del cause
        except httptools.HttpParserUpgrade:
            if not self.done:  # llhttp pauses after a bodiless upgrade request; the rest
                refusal = Malformed("connection upgrade")  # of them are refused
        except httptools.HttpParserError as error:
            refusal = Malformed(str(error))  # llhttp's reasons quote no input
        if refusal is not None:
            # Raised anew, and not held here: a traceback through this frame and the
            # callbacks' would make a cycle with the reader, freed only by the collector.
            try:
                raise refusal.with_traceback(None)
            finally:
                refusal = None

    # llhttp's callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.head_done:
            raise Malformed("trailers after a chunked body")
        if len(self.headers) >= MAX_HEADERS:
            raise Malformed("too many headers", 431)
        name = name.lower()
        if b"_" in name and name.replace(b"_", b"-") in _LOOKALIKES:
            raise Malformed("a framing header spelled with an underscore")
        self.headers.append((name, value.rstrip(b" \t")))  # llhttp strips the leading OWS

    def on_headers_complete(self) -> None:
        self.head_done = True
        parser = self.parser
        assert parser is not None
        version = parser.get_http_version()
        if version not in ("1.0", "1.1"):
            raise Malformed("HTTP version not supported", 400 if version == "0.9" else 505)
        self._head(version)
        if self.done:
            raise _Stop
        # The usual case, a message that ends where the bytes do, needs no stopping.
        self._stop = self.framing.chunked or self.framing.length != self._tail
        if parser.should_upgrade() and self.framing != NO_BODY:
            # llhttp would read what follows as another protocol; h11 as the body
            raise Malformed("an upgrade request with a body")

    def _head(self, version: str) -> None:
        raise NotImplementedError

    def on_body(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > self.max_body:
            raise Malformed("body over the limit", 413)
        self._pieces.append(data)

    def on_chunk_header(self) -> None:
        self._chunks += 1
        if self._chunks > MAX_CHUNKS:
            raise Malformed("too many chunks")

    def on_chunk_complete(self) -> None:
        self._sizes.append(self._received - self._chunk_start)
        self._chunk_start = self._received

    def on_message_complete(self) -> None:
        self.done = True
        if self._stop:
            raise _Stop


class RequestReader(_Reader):
    """A client's request: `head` once its head is read, `body` once `done`."""

    def __init__(self, max_head: int, max_body: int) -> None:
        super().__init__(httptools.HttpRequestParser(self), max_head, max_body)
        self.head: RequestHead | None = None
        self._url = b""

    def on_url(self, url: bytes) -> None:
        self._url += url

    def _head(self, version: str) -> None:
        assert isinstance(self.parser, httptools.HttpRequestParser)
        method, target = self.parser.get_method(), self._url
        if not self._head_bytes.startswith(b"%s %s HTTP/" % (method, target)):
            raise Malformed("malformed request line")  # llhttp allows runs of spaces
        if not (_ORIGIN_FORM.fullmatch(target) or (method == b"OPTIONS" and target == b"*")):
            raise Malformed("request target is not in origin form")
        hosts = [value for name, value in self.headers if name == b"host"]
        if len(hosts) > 1 or (version == "1.1" and not hosts):
            raise Malformed("HTTP/1.1 needs exactly one Host")
        self.framing = _framing(self.headers, version) or NO_BODY
        if (self.framing.length or 0) > self.max_body:
            raise Malformed("body over the limit", 413)
        self.head = RequestHead(method.decode("ascii"), target, version, self.headers, self.framing)


class ResponseReader(_Reader):
    """An upstream's response to a request of `request_method`: upstreams get no more
    leeway than clients."""

    def __init__(self, max_head: int, max_body: int, request_method: str) -> None:
        super().__init__(httptools.HttpResponseParser(self), max_head, max_body)
        self.request_method = request_method
        self.head: ResponseHead | None = None

    def _head(self, version: str) -> None:
        assert isinstance(self.parser, httptools.HttpResponseParser)
        status = self.parser.get_status_code()
        framing = _framing(self.headers, version)
        if self.request_method == "HEAD" or status < 200 or status in (204, 304):
            framing = NO_BODY  # no body by definition, whatever the headers describe
            self.done = True  # llhttp would read a HEAD answer's declared body: stop it
        self.framing = framing or UNTIL_CLOSE
        if (self.framing.length or 0) > self.max_body:
            raise Malformed("response over the limit", 413)
        self.head = ResponseHead(status, version, self.headers, self.framing)
