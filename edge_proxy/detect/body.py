"""Card numbers in a body, read the way its Content-Type says a receiver will read it.

- JSON (``application/json``, ``*/*+json``): see `json_body`; invalid JSON is refused.
- ``application/x-www-form-urlencoded``: like a query string, every percent layer.
- ``multipart/*``: split strictly, then every part's headers and, by its own type, its
  content; a malformed body is refused.
- anything else, or no type: text, decoded with the declared charset or UTF-8; bytes
  that do not decode, or a charset Python does not know, are refused.

What cannot be read cannot be checked, so it is refused (`Uninspectable`), never passed.
"""

from __future__ import annotations

import codecs
from typing import Literal

from edge_proxy.detect.candidates import Finding, find_pan
from edge_proxy.detect.content_type import ContentType, parse_content_type
from edge_proxy.detect.encodings import byte_views, percent_layers
from edge_proxy.detect.json_body import MalformedJson, find_in_json
from edge_proxy.detect.multipart import MalformedMultipart, Part, parse_multipart
from edge_proxy.detect.normalise import normalise

MAX_MULTIPART_DEPTH = 2
_IDENTITY_TRANSFER = frozenset({"7bit", "8bit", "binary"})
_UTF8 = "utf-8"


class Uninspectable(Exception):
    """The detector cannot read these bytes; `kind` says why, for the caller's status code."""

    def __init__(self, kind: Literal["malformed", "charset", "encoding"], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def find_in_url(raw: bytes, *, plus_is_space: bool) -> Finding | None:
    """The first card number in any reading and any percent layer of a URL part or value."""
    for view in byte_views(raw):
        for layer in percent_layers(view, plus_is_space=plus_is_space):
            finding = find_pan(normalise(layer))
            if finding is not None:
                return finding
    return None


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or _UTF8)
    except LookupError:
        raise Uninspectable("charset", "The body's charset is not supported.") from None
    except ValueError:
        raise Uninspectable("malformed", "The body does not decode as its charset.") from None


def _is_utf8(charset: str | None) -> bool:
    try:
        return charset is None or codecs.lookup(charset).name in ("utf-8", "ascii")
    except LookupError:
        return False


def _find_in_text(body: bytes, charset: str | None) -> Finding | None:
    finding = find_pan(normalise(_decode(body, charset)))
    if finding is None and not _is_utf8(charset):
        # A receiver may ignore the declared charset: check the ASCII digits as sent, too.
        finding = find_pan(body.decode("latin-1"))
    return finding


def _find_in_part(part: Part, depth: int) -> Finding | None:
    for _, value in part.headers:
        finding = find_in_url(value, plus_is_space=False)
        if finding is not None:
            return finding
    transfer = (part.header("content-transfer-encoding") or "7bit").strip().lower()
    if transfer not in _IDENTITY_TRANSFER:
        raise Uninspectable("encoding", "A part has a content transfer encoding.")
    return _find_in_body(part.content, parse_content_type(part.header("content-type")), depth)


def _find_in_multipart(body: bytes, ctype: ContentType, depth: int) -> Finding | None:
    if depth >= MAX_MULTIPART_DEPTH:
        raise Uninspectable("malformed", "Multipart bodies are nested too deeply.")
    try:
        parts = parse_multipart(body, ctype.params.get("boundary"))
    except MalformedMultipart:
        raise Uninspectable("malformed", "The multipart body is malformed.") from None
    for part in parts:
        if ctype.mime == "multipart/form-data" and part.header("content-disposition") is None:
            raise Uninspectable("malformed", "A form-data part has no Content-Disposition.")
        finding = _find_in_part(part, depth + 1)
        if finding is not None:
            return finding
    return None


def _find_in_body(body: bytes, ctype: ContentType, depth: int) -> Finding | None:
    if not body:
        return None
    if ctype.is_json:
        try:
            return find_in_json(_decode(body, ctype.charset))
        except MalformedJson:
            raise Uninspectable("malformed", "The body is not valid JSON.") from None
    if ctype.mime == "application/x-www-form-urlencoded":
        return find_in_url(body, plus_is_space=True)
    if ctype.mime.startswith("multipart/"):
        return _find_in_multipart(body, ctype, depth)
    return _find_in_text(body, ctype.charset)


def find_in_body(body: bytes, content_type: str | None) -> Finding | None:
    """The first card number in a body of the given Content-Type; raise Uninspectable."""
    return _find_in_body(body, parse_content_type(content_type), 0)
