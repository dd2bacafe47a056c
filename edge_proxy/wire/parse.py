"""HTTP/1.1 message framing, strictly: one reading of where a message ends, or a refusal.

Request smuggling lives in the gap between two parsers that read the same bytes as
different messages. The edge closes the gap from its side by accepting only the one
unambiguous spelling of a message head (RFC 9112) and refusing everything else with
`Malformed`, after which the server answers 400 and closes the connection:

- lines end in CRLF; a bare LF or CR anywhere in the head is refused, and so is a NUL;
- no obs-fold (a header line that starts with a space or tab), no space before a colon,
  no empty name, names are tokens and values visible ASCII, Latin-1, space or tab; no
  ``Content_Length``, ``Transfer_Encoding`` or ``Host`` with an underscore;
- the request target is origin-form (``/…``) or ``*`` for OPTIONS; versions 1.0 and 1.1;
- exactly one Host in HTTP/1.1;
- Content-Length: at most one header, plain decimal digits, nothing else (not ``5, 5``);
- Transfer-Encoding: at most one header, exactly ``chunked``, never with Content-Length,
  never on HTTP/1.0;
- chunk sizes are hex digits (no sign, no ``0x``, no extensions), each chunk ends in CRLF,
  and the body ends in ``0 CRLF CRLF`` (no trailers).

The edge never forwards the client's framing: it sends each upstream a fresh
Content-Length for the body it read, so a backend cannot read another boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Headers = list[tuple[bytes, bytes]]

MAX_CHUNK_SIZE_DIGITS = 8  # 4 GiB: any larger chunk is over every body limit anyway

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([^\x00-\x20\x7f]+) HTTP/(1\.[01])")
_STATUS_LINE = re.compile(rb"HTTP/(1\.[01]) ([1-9][0-9]{2})(?: [\t \x21-\x7e\x80-\xff]*)?")
_VALUE = rb"(?:[\x21-\x7e\x80-\xff]+(?:[ \t]+[\x21-\x7e\x80-\xff]+)*)?"
_HEADER = re.compile(rb"(" + _TOKEN + rb"):[ \t]*(" + _VALUE + rb")[ \t]*")
_DIGITS = re.compile(rb"[0-9]{1,18}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")  # MAX_CHUNK_SIZE_DIGITS
_ORIGIN_FORM = re.compile(rb"/[\x21\x22\x24-\x7e]*")  # visible ASCII but "#"


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


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    target: bytes
    version: str
    headers: Headers  # names lowercased, values as sent
    framing: Framing

    def values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name]

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for v in self.values(b"connection") for t in v.split(b",")}
        if self.version == "1.0":
            return False  # HTTP/1.0 keep-alive is a legacy extension the edge does not offer
        return b"close" not in tokens


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    version: str
    headers: Headers
    framing: Framing

    @property
    def keep_alive(self) -> bool:
        tokens = {
            t.strip().lower() for k, v in self.headers if k == b"connection" for t in v.split(b",")
        }
        return self.version == "1.1" and b"close" not in tokens and not self.framing.until_close


def head_end(buffer: bytes | bytearray) -> int:
    """Where the head in `buffer` ends (after its blank line), -1 if not yet; raise
    Malformed as soon as a bare LF is seen, so a client cannot hold the head open with
    lines the edge will never accept."""
    end = buffer.find(b"\r\n\r\n")
    scope = buffer if end < 0 else buffer[: end + 4]
    if scope.count(b"\n") != scope.count(b"\r\n"):
        raise Malformed("bare LF in head")
    return -1 if end < 0 else end + 4


def _lines(head: bytes) -> list[bytes]:
    if b"\x00" in head:
        raise Malformed("NUL in head")
    text = head[:-4]
    pairs = text.count(b"\r\n")
    # Every CR starts a CRLF and every LF ends one: no line keeps a CR or LF of its own.
    if text.count(b"\r") != pairs or text.count(b"\n") != pairs:
        raise Malformed("bare CR or LF in head")
    return text.split(b"\r\n")


# Some servers read "_" as "-" in header names (CGI-style variables): these would be
# framing or routing headers to them and a harmless header to the edge.
_LOOKALIKES = frozenset({b"content-length", b"transfer-encoding", b"host"})


def _headers(lines: list[bytes]) -> Headers:
    headers: Headers = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise Malformed("obs-fold line")
        match = _HEADER.fullmatch(line)
        if match is None:
            raise Malformed("malformed header line")
        name = match.group(1).lower()
        if b"_" in name and name.replace(b"_", b"-") in _LOOKALIKES:
            raise Malformed("a framing header spelled with an underscore")
        headers.append((name, match.group(2)))
    return headers


def _framing(headers: Headers, version: str) -> Framing | None:
    """The body framing the headers declare; None when they declare none."""
    lengths: list[bytes] = []
    codings: list[bytes] = []
    for name, value in headers:
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings.append(value)
    if len(lengths) > 1:
        raise Malformed("more than one Content-Length")
    if codings:
        if lengths:
            raise Malformed("both Content-Length and Transfer-Encoding")
        if len(codings) > 1:
            raise Malformed("more than one Transfer-Encoding")
        if version == "1.0":
            raise Malformed("Transfer-Encoding on HTTP/1.0")
        if codings[0].lower() != b"chunked":
            raise Malformed("Transfer-Encoding other than chunked")
        return CHUNKED
    if lengths:
        if not _DIGITS.fullmatch(lengths[0]):
            raise Malformed("invalid Content-Length")
        return Framing(length=int(lengths[0]))
    return None


def parse_request_head(head: bytes) -> RequestHead:
    """A request head, ending in its blank line, or Malformed."""
    request_line, *lines = _lines(head)
    match = _REQUEST_LINE.fullmatch(request_line)
    if match is None:
        other = re.search(rb" HTTP/([0-9.]+)$", request_line)
        if other is not None and other.group(1) not in (b"1.0", b"1.1"):
            raise Malformed("HTTP version not supported", 505)
        raise Malformed("malformed request line")
    method, target, version = match.group(1).decode("ascii"), match.group(2), match.group(3)
    if not (_ORIGIN_FORM.fullmatch(target) or (method == "OPTIONS" and target == b"*")):
        raise Malformed("request target is not in origin form")
    headers = _headers(lines)
    hosts = [value for name, value in headers if name == b"host"]
    if version == b"1.1" and len(hosts) != 1:
        raise Malformed("HTTP/1.1 needs exactly one Host")
    if len(hosts) > 1:
        raise Malformed("more than one Host")
    text_version = version.decode("ascii")
    return RequestHead(
        method, target, text_version, headers, _framing(headers, text_version) or NO_BODY
    )


def parse_response_head(head: bytes, *, request_method: str) -> ResponseHead:
    """An upstream's response head, or Malformed: upstreams get no more leeway than clients."""
    status_line, *lines = _lines(head)
    match = _STATUS_LINE.fullmatch(status_line)
    if match is None:
        raise Malformed("malformed status line")
    version, status = match.group(1).decode("ascii"), int(match.group(2))
    headers = _headers(lines)
    framing = _framing(headers, version)
    if request_method == "HEAD" or status < 200 or status in (204, 304):
        framing = NO_BODY  # no body by definition, whatever the headers describe
    elif framing is None:
        framing = UNTIL_CLOSE
    return ResponseHead(status, version, headers, framing)


class ChunkedReader:
    """Decodes a chunked body fed in pieces; `done` once the last chunk and its CRLF came.

    `feed` returns the bytes of `data` it did not use (the start of the next message).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.body = bytearray()
        self.done = False
        self._pending = bytearray()
        self._remaining = -1  # bytes of the current chunk still to come; -1: a size line
        self._last = False

    def feed(self, data: bytes | bytearray) -> bytes:
        self._pending += data
        while not self.done:
            if self._remaining < 0:
                if not self._size_line():
                    break
            elif not self._chunk_data():
                break
        rest = bytes(self._pending) if self.done else b""
        if self.done:
            self._pending.clear()
        return rest

    def _size_line(self) -> bool:
        end = self._pending.find(b"\r\n")
        if end < 0:
            if len(self._pending) > MAX_CHUNK_SIZE_DIGITS or b"\n" in self._pending:
                raise Malformed("malformed chunk size line")
            return False
        line = bytes(self._pending[:end])
        if not _CHUNK_SIZE.fullmatch(line):
            raise Malformed("malformed chunk size line")
        del self._pending[: end + 2]
        size = int(line, 16)
        if len(self.body) + size > self.max_bytes:
            raise Malformed("chunked body over the limit", 413)
        self._remaining = size
        self._last = size == 0
        return True

    def _chunk_data(self) -> bool:
        if len(self._pending) < self._remaining + 2:
            if len(self._pending) > self._remaining and self._pending[self._remaining] != 13:
                raise Malformed("chunk data not followed by CRLF")
            return False
        if self._pending[self._remaining : self._remaining + 2] != b"\r\n":
            raise Malformed("chunk data not followed by CRLF")
        self.body += self._pending[: self._remaining]
        del self._pending[: self._remaining + 2]
        self._remaining = -1
        self.done = self._last
        return True
