"""The detector the filters use: one object, so a filter can be tested with another."""

from __future__ import annotations

import base64
import binascii
import re

from edge_proxy.detect.body import find_in_body, find_in_url
from edge_proxy.detect.candidates import Finding, find_pan
from edge_proxy.detect.normalise import normalise

_BASIC = re.compile(rb"[ \t]*basic[ \t]+([A-Za-z0-9+/_-]+=*)[ \t]*", re.IGNORECASE)


def basic_credentials(value: bytes) -> bytes | None:
    """The decoded ``user:password`` of a Basic Authorization value, else None."""
    match = _BASIC.fullmatch(value)
    if match is None:
        return None
    token = match.group(1).rstrip(b"=").translate(bytes.maketrans(b"-_", b"+/"))
    try:
        return base64.b64decode(token + b"=" * (-len(token) % 4))
    except binascii.Error:
        return None  # not base64: no receiver will read a user name out of it either


class PanDetector:
    """Finds card numbers in the parts of an HTTP message; returns the first, or None."""

    def text(self, text: str) -> Finding | None:
        """In free text, such as a value already decoded."""
        return find_pan(normalise(text))

    def path(self, raw_path: bytes) -> Finding | None:
        """In a request path as sent, in each of its percent-decoded layers."""
        return find_in_url(raw_path, plus_is_space=False)

    def query(self, query_string: bytes) -> Finding | None:
        """In a query string as sent, in each percent-decoded layer, ``+`` read as space."""
        return find_in_url(query_string, plus_is_space=True)

    def header(self, value: bytes) -> Finding | None:
        """In a header value (or name), as sent and percent-decoded, as cookies often are;
        in Basic credentials, decoded too."""
        finding = find_in_url(value, plus_is_space=True)
        credentials = basic_credentials(value) if finding is None else None
        if credentials is not None:
            finding = find_in_url(credentials, plus_is_space=False)
        return finding

    def body(self, body: bytes, content_type: str | None) -> Finding | None:
        """In a body, by its Content-Type; raises Uninspectable for what it cannot read."""
        return find_in_body(body, content_type)
