"""The text reading every textual atom gets: percent layers, normalised, digit runs;
then base64 and hex tokens (`tokens`) decoded and read for ASCII digits.

``+`` is read as a space (as a form or query reader would) unless the caller says it is
a path, where it is a plus.
"""

from __future__ import annotations

from edge_proxy.detect.budget import check
from edge_proxy.detect.candidates import Finding, find_pan
from edge_proxy.detect.encodings import byte_views, percent_layers
from edge_proxy.detect.normalise import normalise
from edge_proxy.detect.tokens import decodings, tokens


def find_in_decoded(raw: bytes) -> Finding | None:
    """Decoded token bytes, read for ASCII digits: as Latin-1 (every byte a character),
    every percent layer; not normalised, not decoded again."""
    for layer in percent_layers(raw.decode("latin-1"), plus_is_space=True, charset="latin-1"):
        finding = find_pan(layer)
        if finding is not None:
            return finding
    return None


def find_in_text(text: str, *, plus_is_space: bool = True) -> Finding | None:
    """The text reading: every percent layer, normalised; digit runs, then tokens."""
    for layer in percent_layers(text, plus_is_space=plus_is_space):
        finding = find_pan(normalise(layer))
        if finding is not None:
            return finding
    # Tokens keep their "+": a base64 value whose "+" was read as a space decodes to
    # nothing for its receiver either.
    for layer in percent_layers(text, plus_is_space=False):
        for token in tokens(normalise(layer)):
            check()
            for decoded in decodings(token):
                finding = find_in_decoded(decoded)
                if finding is not None:
                    return finding
    return None


def find_in_bytes(raw: bytes, *, plus_is_space: bool = True) -> Finding | None:
    """The text reading of raw bytes, in each of their likely charsets (`byte_views`)."""
    for view in byte_views(raw):
        finding = find_in_text(view, plus_is_space=plus_is_space)
        if finding is not None:
            return finding
    return None
