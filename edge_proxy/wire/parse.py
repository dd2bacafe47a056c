"""What the edge accepts as an HTTP/1.1 message, on top of llhttp (`reader` reads with it).

Request smuggling lives in the gap between two parsers that read the same bytes as
different messages. llhttp, in its default strict mode with no leniency ever set, refuses
Content-Length with Transfer-Encoding, a duplicate or non-numeric Content-Length, obs-fold,
a bare CR or LF, a space before a colon, control characters, malformed chunks. On top of it
the edge refuses what llhttp reads but the edge will not (`Malformed`; the server answers
400 or the status given and closes the connection):

- an empty line before the request line (llhttp skips it), more than one space between
  the parts of the request line, versions other than 1.0 and 1.1 (0.9 and 2.0 included);
- a target that is not origin-form (``/…``), or ``*`` for OPTIONS; no fragment;
- a Host missing or repeated in HTTP/1.1, repeated in 1.0;
- ``Content_Length``, ``Transfer_Encoding`` or ``Host`` with an underscore;
- a Content-Length of more than 18 digits; a Transfer-Encoding other than exactly one
  ``chunked`` (never on HTTP/1.0); a request that asks to upgrade and has a body;
- chunk extensions, chunk sizes of more than 8 hex digits, trailers, over `MAX_CHUNKS`;
- more than `MAX_HEADERS` headers, a head over its limit (431), a body over its (413).

The edge never forwards the client's framing: it sends each upstream a fresh
Content-Length for the body it read, so a backend cannot read another boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Headers = list[tuple[bytes, bytes]]

MAX_HEADERS = 100  # as Apache's LimitRequestFields; a header block is not a data store
# Each chunk costs about 8 microseconds of Python on the event loop (three llhttp
# callbacks and the size line read again): 1024 of them hold every other client for 8 ms
# at most. Real clients send kilobytes a chunk (a 1 MiB body: 1 KiB a chunk at least).
MAX_CHUNKS = 1024
MAX_CHUNK_SIZE_DIGITS = 8  # 4 GiB: any larger chunk is over every body limit anyway
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")  # MAX_CHUNK_SIZE_DIGITS
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


def header(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    """A header line as llhttp read it, as the edge keeps it: name lowercased, value
    without the whitespace around it (llhttp strips what comes before)."""
    name = name.lower()
    if b"_" in name and name.replace(b"_", b"-") in _LOOKALIKES:
        raise Malformed("a framing header spelled with an underscore")
    return name, value.rstrip(b" \t")


def check_version(version: str) -> None:
    if version not in ("1.0", "1.1"):
        raise Malformed("HTTP version not supported", 400 if version == "0.9" else 505)


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


def request_head(
    method: bytes, target: bytes, version: str, headers: Headers, head: bytes | bytearray
) -> RequestHead:
    """The request llhttp read, if the edge accepts it; `head` starts with its bytes."""
    if not head.startswith(b"%s %s HTTP/" % (method, target)):
        raise Malformed("malformed request line")  # llhttp allows runs of spaces
    if not (_ORIGIN_FORM.fullmatch(target) or (method == b"OPTIONS" and target == b"*")):
        raise Malformed("request target is not in origin form")
    hosts = [value for name, value in headers if name == b"host"]
    if len(hosts) > 1 or (version == "1.1" and not hosts):
        raise Malformed("HTTP/1.1 needs exactly one Host")
    framing = _framing(headers, version) or NO_BODY
    return RequestHead(method.decode("ascii"), target, version, headers, framing)


def response_head(status: int, version: str, headers: Headers, request_method: str) -> ResponseHead:
    """The response llhttp read, if the edge accepts it, to a request of `request_method`:
    upstreams get no more leeway than clients."""
    framing = _framing(headers, version)
    if request_method == "HEAD" or status < 200 or status in (204, 304):
        framing = NO_BODY  # no body by definition, whatever the headers describe
    return ResponseHead(status, version, headers, framing or UNTIL_CLOSE)
