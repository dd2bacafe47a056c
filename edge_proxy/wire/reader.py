"""Reading HTTP/1.1 messages with llhttp (httptools), one message per parser.

llhttp runs in its default strict mode; no leniency is ever set. httptools can neither
pause llhttp nor say where in the bytes it stopped, nor show chunk-size lines: so each
message gets a parser of its own, stopped at the message's end by a callback, and the
edge finds that end itself and checks that llhttp agrees: the head ends at its first CRLF
CRLF (llhttp refuses any bare CR or LF before it), a body after its length, or after the
chunks llhttp counted, each size line read again (`parse` says what is accepted). The
bytes after the end start the next message and are the caller's.
"""

from __future__ import annotations

import httptools

from edge_proxy.wire.parse import (
    CHUNK_SIZE,
    MAX_CHUNK_SIZE_DIGITS,
    MAX_CHUNKS,
    MAX_HEADERS,
    NO_BODY,
    Headers,
    Malformed,
    RequestHead,
    ResponseHead,
    check_version,
    header,
    request_head,
    response_head,
)

SIZE_LINE = MAX_CHUNK_SIZE_DIGITS + 2  # with its CRLF


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
    def received(self) -> int:
        """Bytes of the body read so far (de-chunked)."""
        return self._received

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
            line_end = raw.find(b"\r\n", position, position + SIZE_LINE)
            line = raw[position:line_end]
            if line_end < 0 or not CHUNK_SIZE.fullmatch(line) or int(line, 16) != size:
                raise Malformed("malformed chunk size line")
            position = line_end + 2 + size + 2
            if size == 0:
                if raw[line_end + 2 : position] != b"\r\n":
                    raise Malformed("trailers after a chunked body")
                return bytes(raw[position:])
        self._sizes.clear()
        del raw[:position]
        if len(raw) >= SIZE_LINE and raw.find(b"\r\n", 0, SIZE_LINE) < 0:
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
        self.headers.append(header(name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True
        parser = self.parser
        assert parser is not None
        version = parser.get_http_version()
        check_version(version)
        self._head(version)
        if (self.framing.length or 0) > self.max_body:
            raise Malformed("body over the limit", 413)
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
        method = self.parser.get_method()
        self.head = request_head(method, self._url, version, self.headers, self._head_bytes)
        self.framing = self.head.framing


class ResponseReader(_Reader):
    """An upstream's response to a request of `request_method`."""

    def __init__(self, max_head: int, max_body: int, request_method: str) -> None:
        super().__init__(httptools.HttpResponseParser(self), max_head, max_body)
        self.request_method = request_method
        self.head: ResponseHead | None = None

    def _head(self, version: str) -> None:
        assert isinstance(self.parser, httptools.HttpResponseParser)
        status = self.parser.get_status_code()
        self.head = response_head(status, version, self.headers, self.request_method)
        self.framing = self.head.framing
        # llhttp would read a HEAD answer's declared body: stopped at the head
        self.done = self.framing == NO_BODY
