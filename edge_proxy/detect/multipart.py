"""A strict multipart parser: a body it cannot split exactly is refused, never guessed at.

Browsers send ``--boundary CRLF headers CRLF CRLF content`` for each part and close with
``--boundary--``; that is all this accepts (RFC 2046 and 7578, without the preamble and
header folding no browser sends). Parsers that differ on a malformed body are how data is
smuggled past a filter, so a body is only scanned when its split is unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PARTS = 1_000

_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")


class MalformedMultipart(ValueError):
    """The body does not split into parts exactly."""


@dataclass(frozen=True)
class Part:
    """One part: its headers (names lowercased, values raw) and its content."""

    headers: list[tuple[str, bytes]]
    content: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None


def _parse_headers(block: bytes) -> list[tuple[str, bytes]]:
    headers = []
    for line in block.split(b"\r\n") if block else []:
        match = _HEADER.fullmatch(line)
        if match is None:
            raise MalformedMultipart("a part header line is malformed")
        headers.append((match.group(1).decode("ascii").lower(), match.group(2)))
    return headers


def _parse_part(raw: bytes) -> Part:
    if raw.startswith(b"\r\n"):  # no header lines at all
        return Part([], raw[2:])
    block, sep, content = raw.partition(b"\r\n\r\n")
    if not sep:
        raise MalformedMultipart("a part has no end of headers")
    return Part(_parse_headers(block), content)


def parse_multipart(body: bytes, boundary: str | None) -> list[Part]:
    """Split a multipart body into its parts; raise MalformedMultipart if it is not exact."""
    if boundary is None or not _BOUNDARY.fullmatch(boundary):
        raise MalformedMultipart("the boundary is missing or invalid")
    delimiter = b"--" + boundary.encode("ascii")
    if not body.startswith(delimiter):
        raise MalformedMultipart("the body does not start with its boundary")
    rest = body[len(delimiter) :]
    parts: list[Part] = []
    while not rest.startswith(b"--"):
        if not rest.startswith(b"\r\n"):
            raise MalformedMultipart("a boundary line has trailing bytes")
        end = rest.find(b"\r\n" + delimiter, 2)
        if end < 0:
            raise MalformedMultipart("the body has no closing boundary")
        parts.append(_parse_part(rest[2:end]))
        if len(parts) > MAX_PARTS:
            raise MalformedMultipart("too many parts")
        rest = rest[end + 2 + len(delimiter) :]
    if rest[2:] not in (b"", b"\r\n"):
        raise MalformedMultipart("bytes follow the closing boundary")
    return parts
