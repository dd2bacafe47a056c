"""The text reading every textual atom gets: percent layers and unescapes, normalised,
digit runs; then base64, base32 and hex tokens (`tokens`) decoded and read for ASCII
digits.

``+`` is read as a space (as a form or query reader would) unless the caller says it is
a path, where it is a plus. `field` is the name of the field the text is the value of,
when it has one: a name that says card is context (`context`).
"""

from __future__ import annotations

from edge_proxy.detect.budget import check
from edge_proxy.detect.candidates import Finding, find_pan
from edge_proxy.detect.encodings import byte_views, percent_layers, unescaped
from edge_proxy.detect.normalise import normalise
from edge_proxy.detect.tokens import decodings, tokens


def find_in_decoded(raw: bytes, field: str | None = None) -> Finding | None:
    """Decoded token bytes, read for ASCII digits: as Latin-1 (every byte a character),
    every percent layer; not normalised, not decoded again."""
    for layer in percent_layers(raw.decode("latin-1"), plus_is_space=True, charset="latin-1"):
        finding = find_pan(layer, field=field)
        if finding is not None:
            return finding
    return None


def _views(text: str, plus_is_space: bool) -> list[str]:
    views = []
    for layer in percent_layers(text, plus_is_space=plus_is_space):
        views.append(layer)
        views += unescaped(layer)
    return views


def find_in_text(
    text: str, *, plus_is_space: bool = True, field: str | None = None
) -> Finding | None:
    """The text reading: every percent layer and unescape, normalised; digit runs, then
    tokens."""
    for view in _views(text, plus_is_space):
        finding = find_pan(normalise(view), field=field)
        if finding is not None:
            return finding
    # Tokens keep their "+": a base64 value whose "+" was read as a space decodes to
    # nothing for its receiver either.
    for view in _views(text, False):
        for token in tokens(normalise(view)):
            check()
            for decoded in decodings(token):
                finding = find_in_decoded(decoded, field)
                if finding is not None:
                    return finding
    return None


def find_in_bytes(
    raw: bytes, *, plus_is_space: bool = True, field: str | None = None
) -> Finding | None:
    """The text reading of raw bytes, in each of their likely charsets (`byte_views`)."""
    for view in byte_views(raw):
        finding = find_in_text(view, plus_is_space=plus_is_space, field=field)
        if finding is not None:
            return finding
    return None
