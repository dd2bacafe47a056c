"""Every text a receiver could read out of some bytes: charsets and percent-encoding layers."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

PERCENT_ROUNDS = 4


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
        decoded = unquote_to_bytes(text).decode(charset, "ignore")
        if decoded == layers[-1]:
            break
        layers.append(decoded)
        text = decoded
    return layers
