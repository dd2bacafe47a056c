"""The detector the filters use: the fast path first, the exact path when it must.

For bodies, the two paths are separate calls, so that the caller decides where the slow
one runs: `scan_body` and `scan_app_body` (the fast path, C-level passes over the bytes)
answer a `Verdict`, CLEAN or NEEDS_EXACT; `exact_body` and `exact_app_body` (the exact
path, Python) answer CLEAN or found, or NEEDS_EXACT when the CPU share the caller gave
them (`until`) ran out first; they raise Uninspectable for what they cannot read in the
detector's budget, and `exact_app_body` BodyRefused for what the API would not read.
`scan_headers` and `exact_headers` do the same for a response's headers.

The other methods run both paths themselves and answer the first card number found, or
None: `body` and `app_body` (the two calls in a row, for tests and benchmarks), and the
head's (`path`, `query`, `headers`), which always run on the event loop within their own
budget. `fast` off runs the exact path alone (tests and benchmarks compare the two).
`rules` are the deployment's context rules (`context`), installed for each call.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from edge_proxy.detect.app_body import media_of
from edge_proxy.detect.body import find_in_app_body, find_in_body
from edge_proxy.detect.budget import ShareSpent, limits
from edge_proxy.detect.candidates import Finding
from edge_proxy.detect.content_type import parse_content_type
from edge_proxy.detect.context import DEFAULT_RULES, Rules, using
from edge_proxy.detect.errors import Uninspectable
from edge_proxy.detect.fast import plain_json, quick_clean, quick_clean_form
from edge_proxy.detect.reading import find_in_bytes, find_in_text
from edge_proxy.detect.verdict import CLEAN, NEEDS_EXACT, Verdict, found

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


# A head is scanned on the event loop: path, query and headers get this much CPU time
# each, then the request is refused (431).
HEAD_BUDGET_SECONDS = 0.05


def _pairs(raw: bytes, separator: bytes) -> list[tuple[str, str]]:
    """Name and value of each pair of a query string or Cookie header, for context: as
    sent (the text reading undoes percent-encoding and "+" itself, every way)."""
    pairs = []
    for item in raw.split(separator):
        name, _, value = item.partition(b"=")
        pairs.append((name.strip().decode("latin-1"), value.decode("latin-1")))
    return pairs


_OBJECT = re.compile(rb"[ \t\r\n]*\{")


def _app_body_clean(body: bytes, media: str) -> bool:
    if media == "form":
        return quick_clean_form(body)
    # One object (the API refuses anything else): a cheap look at the first byte.
    return _OBJECT.match(body) is not None and quick_clean(body) and plain_json(body)


class PanDetector:
    """Finds card numbers in the parts of an HTTP message."""

    def __init__(
        self, *, fast: bool = True, budget: float | None = None, rules: Rules = DEFAULT_RULES
    ) -> None:
        self.fast = fast
        self.budget = budget  # seconds for one body's exact path; then Uninspectable
        self.rules = DEFAULT_RULES if rules == DEFAULT_RULES else rules  # `is` then skips

    @contextmanager
    def _inspecting(self, seconds: float | None, until: float | None = None) -> Iterator[None]:
        with (
            limits(seconds, until),
            using(self.rules) if self.rules is not DEFAULT_RULES else (nullcontext()),
        ):
            yield

    def _exact(self, scan: Callable[[], Finding | None], until: float | None) -> Verdict:
        """`scan` (an exact path) within the body budget, stopped at `until`."""
        try:
            with self._inspecting(self.budget, until):
                return found(scan())
        except ShareSpent:
            return NEEDS_EXACT  # unfinished: to be run again where it may take its budget

    def _head_budget(self) -> float:
        return min(self.budget or HEAD_BUDGET_SECONDS, HEAD_BUDGET_SECONDS)

    def text(self, text: str, field: str | None = None) -> Finding | None:
        """In free text, such as a value already decoded."""
        with self._inspecting(self.budget):
            return find_in_text(text, field=field)

    def path(self, raw_path: bytes) -> Finding | None:
        """In a request path as sent, in each of its percent-decoded layers."""
        if self.fast and quick_clean(raw_path):
            return None
        with self._inspecting(self._head_budget()):
            return find_in_bytes(raw_path, plus_is_space=False)

    def query(self, query_string: bytes) -> Finding | None:
        """In a query string as sent, in each percent-decoded layer, ``+`` read as space;
        then each value with its name as context."""
        if self.fast and quick_clean_form(query_string):
            return None  # read as a form is: expand%5B%5D=customer takes the fast path
        with self._inspecting(self._head_budget()):
            return find_in_bytes(query_string, plus_is_space=True) or next(
                (
                    found
                    for name, value in _pairs(query_string, b"&")
                    if (found := find_in_text(value, field=name)) is not None
                ),
                None,
            )

    def header(self, value: bytes, name: bytes | None = None) -> Finding | None:
        """In a header value (or name), as sent and percent-decoded, as cookies often are,
        with the header's name as context (a cookie's value with the cookie's); base64 is
        decoded as tokens, and Basic credentials get the whole text reading (a receiver
        decodes them for certain)."""
        with self._inspecting(self._head_budget()):
            return self._header(value, name)

    def _header(self, value: bytes, name: bytes | None) -> Finding | None:
        field = name.decode("latin-1") if name is not None else None
        credentials = basic_credentials(value)
        if credentials is not None:
            return find_in_bytes(credentials, plus_is_space=False) or find_in_bytes(value)
        if self.fast and quick_clean(value):
            return None
        found = find_in_bytes(value, plus_is_space=True, field=field)
        if found is None and field is not None and field.lower() == "cookie":
            for cookie, text in _pairs(value, b";"):
                found = find_in_text(text, field=cookie)
                if found is not None:
                    break
        return found

    def scan_headers(self, headers: list[tuple[bytes, bytes]]) -> Verdict:
        """The fast path over every header's name and value: CLEAN or NEEDS_EXACT. One
        check covers them all: their readings joined by blank lines hold every reading of
        each (Basic credentials are decoded by the exact path only)."""
        joined = b"\n\n".join(itertools.chain.from_iterable(headers))
        if self.fast and quick_clean(joined) and b"asic" not in joined.lower():
            return CLEAN
        return NEEDS_EXACT

    def _headers_exact(
        self, headers: list[tuple[bytes, bytes]]
    ) -> tuple[bytes | None, Finding] | None:
        for name, value in headers:
            finding = self._header(name, None)
            if finding is not None:
                return None, finding
            finding = self._header(value, name)
            if finding is not None:
                return name, finding
        return None

    def headers(self, headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, Finding] | None:
        """In every header's name and value: the first finding, with the name of the
        header whose value held it (None when a name itself did). One head budget covers
        them all: a head of many headers is not many budgets."""
        if self.scan_headers(headers) is CLEAN:
            return None
        with self._inspecting(self._head_budget()):
            return self._headers_exact(headers)

    def exact_headers(
        self, headers: list[tuple[bytes, bytes]], *, until: float | None = None
    ) -> Verdict:
        """The exact path over every header (a response's: the name is not needed), within
        the head budget, stopped at `until`."""
        try:
            with self._inspecting(self._head_budget(), until):
                answer = self._headers_exact(headers)
        except ShareSpent:
            return NEEDS_EXACT
        return found(None if answer is None else answer[1])

    def values(self, *values: str | None) -> bool:
        """True when none of these texts (a log line's fields) holds a card number."""
        present = [v.encode("utf-8", "surrogateescape") for v in values if v is not None]
        if self.fast and quick_clean(b"\n\n".join(present)):
            return True
        try:
            return all(self.header(value) is None for value in present)
        except Uninspectable:
            return False  # fail closed: what could not be read in time is redacted

    def scan_body(self, body: bytes, content_type: str | None) -> Verdict:
        """The fast path over a body, by its Content-Type: CLEAN or NEEDS_EXACT."""
        if not body:
            return CLEAN
        ctype = parse_content_type(content_type)
        if not self.fast or not _fast_eligible(ctype.mime, ctype.charset):
            return NEEDS_EXACT
        if ctype.mime == "application/x-www-form-urlencoded":
            clean = quick_clean_form(body)  # read as a query string: every percent layer
        else:
            clean = quick_clean(body) and (not ctype.is_json or plain_json(body))
        if clean:
            return CLEAN
        return NEEDS_EXACT

    def exact_body(
        self, body: bytes, content_type: str | None, *, until: float | None = None
    ) -> Verdict:
        """The exact path over a body, by its Content-Type, stopped at `until`; raises
        Uninspectable for what it cannot read."""
        return self._exact(lambda: find_in_body(body, content_type), until)

    def body(self, body: bytes, content_type: str | None) -> Finding | None:
        """In a body, by its Content-Type: both paths; raises Uninspectable."""
        if self.scan_body(body, content_type) is CLEAN:
            return None
        return self.exact_body(body, content_type).finding

    def scan_app_body(self, body: bytes, content_type: str | None) -> Verdict:
        """The fast path over a body bound for the app zone: CLEAN or NEEDS_EXACT; raises
        BodyRefused for a media type the API would not read."""
        if not body:
            return CLEAN
        media = media_of(content_type)
        if self.fast and _app_body_clean(body, media):
            return CLEAN
        return NEEDS_EXACT

    def exact_app_body(
        self, body: bytes, content_type: str | None, *, until: float | None = None
    ) -> Verdict:
        """The exact path over a body bound for the app zone, read as the API reads it
        (`app_body`), stopped at `until`; raises BodyRefused for a body the API would not
        read, Uninspectable past the budget."""
        return self._exact(lambda: find_in_app_body(body, content_type), until)

    def app_body(self, body: bytes, content_type: str | None) -> Finding | None:
        """In a body bound for the app zone: both paths; raises BodyRefused, Uninspectable."""
        if self.scan_app_body(body, content_type) is CLEAN:
            return None
        return self.exact_app_body(body, content_type).finding
