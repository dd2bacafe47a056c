"""Content codings (gzip, deflate, br, stacked): undone before a body is read, within a limit.

The limit applies to the decoded bytes, not the sent ones: a 1 KB gzip bomb inflates to
gigabytes. A body that decodes past it, an unknown coding, or data that does not decode
is `Uninspectable`: what cannot be read is refused.
"""

from __future__ import annotations

import zlib

import brotli  # type: ignore[import-untyped]

from edge_proxy.detect.errors import Uninspectable

MAX_CODINGS = 4  # a stack deeper than this is not a client's honest choice
_ZLIB_WINDOW = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}
KNOWN = frozenset({*_ZLIB_WINDOW, "br", "identity"})


def codings(values: list[str]) -> list[str]:
    """The codings of Content-Encoding header values, in the order they were applied."""
    return [c.strip().lower() for value in values for c in value.split(",") if c.strip()]


def check_codings(applied: list[str]) -> None:
    """Raise Uninspectable for a coding the edge cannot undo."""
    if any(coding not in KNOWN for coding in applied):
        raise Uninspectable("encoding", "The body's Content-Encoding is not supported.")
    if len(applied) > MAX_CODINGS:
        raise Uninspectable("encoding", "The body's Content-Encoding is stacked too deep.")


def _too_large() -> Uninspectable:
    return Uninspectable("too_large", "The body is too large once decoded.")


def _zlib(data: bytes, wbits: int, max_bytes: int) -> bytes:
    try:
        if wbits == zlib.MAX_WBITS and data[:1] and (data[0] & 0x0F) != 8:
            wbits = -zlib.MAX_WBITS  # "deflate" sent raw, as some clients do
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error:
        raise Uninspectable("malformed", "The body does not decode as its coding.") from None
    if len(out) > max_bytes:
        raise _too_large()
    if not inflater.eof or inflater.unused_data:
        raise Uninspectable("malformed", "The body does not decode as its coding.")
    return out


def _brotli(data: bytes, max_bytes: int) -> bytes:
    decompressor = brotli.Decompressor()
    try:
        out: bytes = decompressor.process(data, output_buffer_limit=max_bytes + 1)
    except brotli.error:
        raise Uninspectable("malformed", "The body does not decode as its coding.") from None
    if len(out) > max_bytes or not decompressor.can_accept_more_data():
        raise _too_large()
    if not decompressor.is_finished():
        raise Uninspectable("malformed", "The body does not decode as its coding.")
    return out


def decode_content(body: bytes, applied: list[str], max_bytes: int) -> bytes:
    """`body` with its codings undone, last applied first; raise Uninspectable."""
    check_codings(applied)
    if len(body) > max_bytes:
        raise _too_large()
    for coding in reversed(applied):
        if coding == "identity":
            continue
        if coding == "br":
            body = _brotli(body, max_bytes)
        else:
            body = _zlib(body, _ZLIB_WINDOW[coding], max_bytes)
    return body
