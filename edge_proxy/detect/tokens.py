"""Card numbers hidden in base64, base64url or hex: tokens of those alphabets, decoded.

A *token* is a run of at least `MIN_TOKEN` characters, either of the base64 and
base64url alphabets together (``[A-Za-z0-9+/_-]``, with its ``=`` padding) or of letters
and digits alone: the second kind finds base64 inside a path (``/v1/x/<base64>``) or
after a prefix (``card_<base64>``), the first base64 whose text made ``+``, ``/``, ``-``
or ``_`` appear. Each token is decoded as base64 (either alphabet, from its first
character: bytes encoded from the middle of a word are not found, as no receiver would
decode them either) and, when it is all hex digits of even length, as hex.

The decoded bytes are read for ASCII digits (`reading.find_in_decoded`): every byte a
character, every percent layer; not normalised, not decoded again. A card number both
encoded and written in another script, or with invisible characters in it, is not found
inside base64 or hex.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

MIN_TOKEN = 18  # 13 bytes (the shortest card number) take 18 base64 characters, 26 hex
MIN_HEX = 26

_WHOLE = re.compile(rf"[A-Za-z0-9+/_-]{{{MIN_TOKEN},}}")
_ALNUM = re.compile(rf"[A-Za-z0-9]{{{MIN_TOKEN},}}")
_HEX = re.compile(rf"(?:[0-9a-fA-F]{{2}}){{{MIN_HEX // 2},}}")
_URLSAFE = str.maketrans("-_", "+/")


def tokens(text: str) -> set[str]:
    """Every token of `text`, both kinds."""
    return {*_WHOLE.findall(text), *_ALNUM.findall(text)}


def decodings(token: str) -> Iterator[bytes]:
    """What a token decodes to: base64 (unless its length cannot be), and hex if it is."""
    if len(token) % 4 != 1:  # one leftover character never decodes
        standard = token.translate(_URLSAFE)
        yield binascii.a2b_base64(standard + "=" * (-len(standard) % 4))
    if _HEX.fullmatch(token):
        yield bytes.fromhex(token)
