"""The exact (slow) path: card numbers in a body read the way every receiver could read it.

A request bound for the app zone is read as the API reads it (`app_body`) and nothing
else is let through: `find_in_app_body`. Responses, which the edge only checks, are read
every way a receiver could (`find_in_body`), as follows.

Every textual atom is given the text reading (`reading`). Which atoms a body has depends
on its Content-Type:

- JSON (``application/json``, ``*/*+json``): see `json_body`; read in its declared charset
  or, without one, as ``json.loads`` would detect it (UTF-8, -16 or -32); when a charset
  is declared, the detected reading is searched too. Invalid JSON is refused.
- ``application/x-www-form-urlencoded``: the whole body, as a query string.
- ``multipart/*``: split strictly, then every part's headers and, by its own type, its
  content; a malformed body is refused.
- anything else, or no type: text in the declared charset or UTF-8; bytes that do not
  decode, or a charset Python does not know, are refused. Other charsets are read as
  UTF-8 and Latin-1 too, in case a receiver ignores the declared one.

What cannot be read cannot be checked, so it is refused (`Uninspectable`), never passed.
"""

from __future__ import annotations

import codecs
import json

from edge_proxy.detect.app_body import app_body_atoms, media_of
from edge_proxy.detect.budget import check
from edge_proxy.detect.candidates import Finding
from edge_proxy.detect.content_type import ContentType, parse_content_type
from edge_proxy.detect.errors import Uninspectable
from edge_proxy.detect.json_body import (
    MalformedJson,
    find_in_json,
    find_in_number,
    find_in_written_strings,
)
from edge_proxy.detect.multipart import MalformedMultipart, Part, parse_multipart
from edge_proxy.detect.reading import find_in_bytes, find_in_text

__all__ = ["Uninspectable", "find_in_app_body", "find_in_body", "find_in_bytes", "find_in_text"]

MAX_MULTIPART_DEPTH = 2
_IDENTITY_TRANSFER = frozenset({"7bit", "8bit", "binary"})
_UTF8 = "utf-8"


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or _UTF8)
    except LookupError:
        raise Uninspectable("charset", "The body's charset is not supported.") from None
    except ValueError:
        raise Uninspectable("malformed", "The body does not decode as its charset.") from None


def _codec(charset: str | None) -> str | None:
    try:
        return codecs.lookup(charset).name if charset else None
    except LookupError:
        return None


def _find_in_json(body: bytes, charset: str | None) -> Finding | None:
    detected = json.detect_encoding(body)
    try:
        finding = find_in_json(_decode(body, charset or detected))
    except MalformedJson:
        raise Uninspectable("malformed", "The body is not valid JSON.") from None
    if finding is None and charset is not None and _codec(charset) != _codec(detected):
        # A receiver that ignores the declared charset reads it as json.loads does.
        finding = find_in_text(body.decode(detected, "ignore"))
    return finding


def _find_in_text_body(body: bytes, charset: str | None) -> Finding | None:
    finding = find_in_text(_decode(body, charset))
    if finding is None and _codec(charset) not in (None, "utf-8", "ascii"):
        # A receiver may ignore the declared charset: read the bytes as UTF-8 and Latin-1.
        finding = find_in_bytes(body)
    return finding


def _find_in_part(part: Part, depth: int) -> Finding | None:
    for _, value in part.headers:
        finding = find_in_bytes(value, plus_is_space=False)
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
        return _find_in_json(body, ctype.charset)
    if ctype.mime == "application/x-www-form-urlencoded":
        return find_in_bytes(body, plus_is_space=True)
    if ctype.mime.startswith("multipart/"):
        return _find_in_multipart(body, ctype, depth)
    return _find_in_text_body(body, ctype.charset)


def find_in_body(body: bytes, content_type: str | None) -> Finding | None:
    """The first card number in a body of the given Content-Type; raise Uninspectable."""
    return _find_in_body(body, parse_content_type(content_type), 0)


# Kept for the callers of the first version: a URL part is read as bytes are.
def find_in_url(raw: bytes, *, plus_is_space: bool) -> Finding | None:
    """The first card number in a path, query string or header value as sent."""
    return find_in_bytes(raw, plus_is_space=plus_is_space)


def find_in_app_body(body: bytes, content_type: str | None) -> Finding | None:
    """The first card number in a body bound for the app zone, read as the API reads it
    (every key and value, with its field as context) and as written; raise BodyRefused
    for a body the API would refuse."""
    for count, atom in enumerate(app_body_atoms(body, content_type)):
        if not count & 0xFF:
            check()
        if atom.number:
            finding = find_in_number(atom.text, atom.field)
        else:
            finding = find_in_text(atom.text, field=atom.field)
        if finding is not None:
            return finding
    if not body:
        return None
    if media_of(content_type) == "json":
        return find_in_written_strings(body.decode("utf-8"))  # the escapes as written too
    return find_in_bytes(body, plus_is_space=True)  # every percent layer of the whole
