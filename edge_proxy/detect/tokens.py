"""Card numbers hidden in base64, base64url, base32 or hex: tokens of those alphabets,
decoded.

A *token* is a run of at least `MIN_TOKEN` characters, either of the base64 and
base64url alphabets together (``[A-Za-z0-9+/_-]``, with its ``=`` padding) or of letters
and digits alone: the second kind finds base64 inside a path (``/v1/x/<base64>``) or
after a prefix (``card_<base64>``), the first base64 whose text made ``+``, ``/``, ``-``
or ``_`` appear. Base64 broken by whitespace (MIME line breaks, a space every few
characters) is read with the whitespace taken out too, at each of the four alignments
(words before it shift them). Each token is decoded as base64
(either alphabet, from its first character: bytes encoded from the middle of a word are
not found, as no receiver would decode them either), as base32 when it is of that
alphabet (RFC 4648: capitals and ``2``–``7``; lower-case base32 is not read), and, when
it is all hex digits of even length, as hex.

What a token decodes to (`decodings`) is read for ASCII digits
(`reading.find_in_decoded`): as is, with NUL bytes taken out (base64 of UTF-16 text),
gunzipped when it is a gzip stream, and, when it is itself base64 text, decoded once
more.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import zlib
from collections.abc import Iterator

MIN_TOKEN = 18  # 13 bytes (the shortest card number) take 18 base64 characters, 26 hex
MIN_HEX = 26
MIN_BASE32 = 21
MAX_INFLATED = 64 * 1024  # gzip inside a token: read this much of it, no more
NESTED = 2  # base64 of base64 is undone; a third layer is not

_WHOLE = re.compile(rf"[A-Za-z0-9+/_-]{{{MIN_TOKEN},}}")
_ALNUM = re.compile(rf"[A-Za-z0-9]{{{MIN_TOKEN},}}")
# Possessive and anchored at a word's start: linear, however long the word.
_BROKEN = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{2,}+(?:\s+[A-Za-z0-9+/_=-]{2,}+)+")
_HEX = re.compile(rf"(?:[0-9a-fA-F]{{2}}){{{MIN_HEX // 2},}}")
_BASE32 = re.compile(rf"[A-Z2-7]{{{MIN_BASE32},}}=*")
_SPACE = re.compile(r"\s+")
_URLSAFE = str.maketrans("-_", "+/")
_GZIP = b"\x1f\x8b\x08"


def tokens(text: str) -> set[str]:
    """Every token of `text`, both kinds, whitespace-broken ones joined."""
    found = {*_WHOLE.findall(text), *_ALNUM.findall(text), *_BASE32.findall(text)}
    for broken in _BROKEN.findall(text):
        joined = _SPACE.sub("", broken).rstrip("=")
        if len(joined) >= MIN_TOKEN:
            # Words before the base64 ("ref NDMw ODAy…") shift its alignment: one of four
            # shifts decodes it whatever came before (that part decodes to noise).
            for shift in range(4):
                found.update(_WHOLE.findall(joined[shift:]))
    return found


def _base64(token: str) -> bytes | None:
    token = token.rstrip("=")
    if len(token) % 4 == 1:  # one leftover character never decodes: the rest does
        token = token[:-1]
    standard = token.translate(_URLSAFE)
    return binascii.a2b_base64(standard + "=" * (-len(standard) % 4))


def _gunzip(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, MAX_INFLATED)
    except zlib.error:
        return b""


def _raw_decodings(token: str) -> Iterator[bytes]:
    decoded = _base64(token)
    if decoded is not None:
        yield decoded
    if _BASE32.fullmatch(token):
        body = token.rstrip("=")
        with contextlib.suppress(binascii.Error):  # a length base32 cannot have
            yield base64.b32decode(body + "=" * (-len(body) % 8))
    if _HEX.fullmatch(token):
        yield bytes.fromhex(token)


def decodings(token: str, depth: int = 1) -> Iterator[bytes]:
    """What a token decodes to, each way it can, and what that decodes to in turn."""
    for decoded in _raw_decodings(token):
        yield decoded
        if b"\x00" in decoded:
            yield decoded.replace(b"\x00", b"")  # UTF-16 text
        if decoded.startswith(_GZIP):
            yield _gunzip(decoded)
        if depth < NESTED and decoded.isascii():
            for inner in _WHOLE.findall(decoded.decode("ascii")):
                yield from decodings(inner, depth + 1)
