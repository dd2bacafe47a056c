"""Every text a receiver could read out of some bytes: charsets, percent-encoding layers,
and the escapes a program might undo (HTML numeric entities ``&#52;``, ``\\x34``,
``\\u0034``, ``%u0034``, quoted-printable ``=34=32=34``)."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

PERCENT_ROUNDS = 12  # each round must change the text, so a body cannot make this costly

_PERCENT_U = re.compile(r"%[uU]([0-9A-Fa-f]{4})")
_BACKSLASH = re.compile(r"\\(?:[xX]([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
# Quoted-printable as a decoder would take it: upper-case escapes, three or more in a
# row (a card number in it is then escaped whole; digits written plain are read as such).
_QUOTED_PRINTABLE = re.compile(r"(?:=[0-9A-F]{2}){3,}")
_QP_ESCAPE = re.compile(r"=([0-9A-F]{2})")
_ENTITY = re.compile(r"&#(?:([0-9]{1,7})|[xX]([0-9A-Fa-f]{1,6}));?")


def _code_point(match: re.Match[str]) -> str:
    value = int(next(group for group in match.groups() if group is not None), 16)
    return chr(value) if value <= 0x10FFFF else ""


def _quoted_printable(match: re.Match[str]) -> str:
    return _QP_ESCAPE.sub(lambda escape: chr(int(escape.group(1), 16)), match.group())


def _entity(match: re.Match[str]) -> str:
    decimal, hexadecimal = match.groups()
    value = int(decimal) if decimal is not None else int(hexadecimal, 16)
    return chr(value) if value <= 0x10FFFF else ""


def unescaped(text: str) -> list[str]:
    """What `text` becomes once each kind of escape in it is undone (HTML numeric
    entities, backslash escapes, quoted-printable), each on its own; [] if none."""
    views = []
    if "&#" in text:
        views.append(_ENTITY.sub(_entity, text))
    if "\\" in text:
        views.append(_BACKSLASH.sub(_code_point, text))
    if "=" in text:
        views.append(_QUOTED_PRINTABLE.sub(_quoted_printable, text))
    return [view for view in views if view != text]


def byte_views(raw: bytes) -> list[str]:
    """The readings of raw bytes that matter: UTF-8, and Latin-1 as ASGI servers read headers.

    Undecodable bytes are dropped from the UTF-8 reading rather than replaced, so they
    cannot cut a card number into harmless-looking pieces.
    """
    if raw.isascii():
        return [raw.decode("ascii")]
    return [raw.decode("utf-8", "ignore"), raw.decode("latin-1")]


def percent_layers(text: str, *, plus_is_space: bool, charset: str = "utf-8") -> list[str]:
    """`text` and what it becomes percent-decoded once, twice, … up to `PERCENT_ROUNDS`.

    Each layer is scanned: a receiver may decode once (as it should) or again (as code
    that unquotes an already unquoted value does), and a card number may wait in any layer.
    `plus_is_space` is for query strings and form bodies, where ``+`` means a space.
    Decoded bytes are read in `charset`; what does not decode is dropped.
    """
    layers = [text]
    for _ in range(PERCENT_ROUNDS):
        if "%" not in text and not (plus_is_space and "+" in text):
            break
        if plus_is_space:
            text = text.replace("+", " ")
        if "%u" in text or "%U" in text:
            text = _PERCENT_U.sub(_code_point, text)  # IIS's %u0034
        decoded = unquote_to_bytes(text).decode(charset, "ignore")
        if decoded == layers[-1]:
            break
        layers.append(decoded)
        text = decoded
    return layers
