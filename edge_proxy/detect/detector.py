"""The detector the filters use: the fast path first, the exact path when it must.

Each method answers the first card number found, or None; `body` raises Uninspectable
for what it cannot read. `fast` off runs the exact path alone (tests and benchmarks
compare the two).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import itertools
import re

from edge_proxy.detect.body import find_in_body
from edge_proxy.detect.budget import Deferred, deadline, exact_allowed
from edge_proxy.detect.candidates import Finding
from edge_proxy.detect.content_type import parse_content_type
from edge_proxy.detect.fast import plain_json, quick_clean
from edge_proxy.detect.reading import find_in_bytes, find_in_text

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


# Charsets in which ASCII bytes read as themselves (the fast path's first condition).
_ASCII_SUPERSETS = frozenset({"utf-8", "ascii", "latin-1", "iso8859-15", "cp1252"})


@functools.lru_cache(maxsize=256)
def _fast_eligible(mime: str, charset: str | None) -> bool:
    if mime.startswith("multipart/"):
        return False
    if charset is None:
        return True
    try:
        return codecs.lookup(charset).name in _ASCII_SUPERSETS
    except LookupError:
        return False


class PanDetector:
    """Finds card numbers in the parts of an HTTP message."""

    def __init__(self, *, fast: bool = True, budget: float | None = None) -> None:
        self.fast = fast
        self.budget = budget  # seconds for one body's exact path; then Uninspectable

    def text(self, text: str) -> Finding | None:
        """In free text, such as a value already decoded."""
        return find_in_text(text)

    def path(self, raw_path: bytes) -> Finding | None:
        """In a request path as sent, in each of its percent-decoded layers."""
        if self.fast and quick_clean(raw_path):
            return None
        return find_in_bytes(raw_path, plus_is_space=False)

    def query(self, query_string: bytes) -> Finding | None:
        """In a query string as sent, in each percent-decoded layer, ``+`` read as space."""
        if self.fast and quick_clean(query_string):
            return None
        return find_in_bytes(query_string, plus_is_space=True)

    def header(self, value: bytes) -> Finding | None:
        """In a header value (or name), as sent and percent-decoded, as cookies often are;
        base64 is decoded as tokens, and Basic credentials get the whole text reading (a
        receiver decodes them for certain)."""
        credentials = basic_credentials(value)
        if credentials is not None:
            return find_in_bytes(credentials, plus_is_space=False) or find_in_bytes(value)
        if self.fast and quick_clean(value):
            return None
        return find_in_bytes(value, plus_is_space=True)

    def headers(self, headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, Finding] | None:
        """In every header's name and value: the first finding, with the name of the
        header whose value held it (None when a name itself did). One fast-path check
        covers them all: two separators in a row between them end every run."""
        joined = b"\n\n".join(itertools.chain.from_iterable(headers))
        if self.fast and quick_clean(joined) and b"asic" not in joined.lower():
            return None
        for name, value in headers:
            finding = self.header(name)
            if finding is not None:
                return None, finding
            finding = self.header(value)
            if finding is not None:
                return name, finding
        return None

    def values(self, *values: str | None) -> bool:
        """True when none of these texts (a log line's fields) holds a card number."""
        present = [v.encode("utf-8", "surrogateescape") for v in values if v is not None]
        if self.fast and quick_clean(b"\n\n".join(present)):
            return True
        return all(self.header(value) is None for value in present)

    def body(self, body: bytes, content_type: str | None) -> Finding | None:
        """In a body, by its Content-Type; raises Uninspectable for what it cannot read."""
        if not body:
            return None
        ctype = parse_content_type(content_type)
        if (
            self.fast
            and _fast_eligible(ctype.mime, ctype.charset)
            and quick_clean(body)
            and (not ctype.is_json or plain_json(body))
        ):
            return None
        if not exact_allowed():
            raise Deferred
        with deadline(self.budget):
            return find_in_body(body, content_type)
