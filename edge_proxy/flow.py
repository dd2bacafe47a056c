"""A flow: one request through the edge and, once forwarded, the upstream's response.

Like mitmproxy's flows, this is what every filter hook receives; tests build one by hand.
Headers stay bytes, as the server received them: filters must see what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = list[tuple[bytes, bytes]]


def _values(headers: Headers, name: str) -> list[str]:
    key = name.lower().encode("latin-1")
    return [value.decode("latin-1") for k, value in headers if k.lower() == key]


@dataclass
class EdgeRequest:
    """A request as received: header names lowercased, everything else as sent."""

    method: str
    path: str
    raw_path: bytes
    query_string: bytes = b""
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    client: str | None = None
    scheme: str = "http"
    decoded: bytes | None = None  # the body with its Content-Encoding undone, once it is

    @property
    def inspected(self) -> bytes:
        """The bytes the body filters read: decoded if it was encoded, else as sent."""
        return self.body if self.decoded is None else self.decoded

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        values = _values(self.headers, name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return _values(self.headers, name)


@dataclass
class EdgeResponse:
    """An upstream's response, whole, before the client sees any of it."""

    status_code: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    decoded: bytes | None = None  # as for a request

    @property
    def inspected(self) -> bytes:
        return self.body if self.decoded is None else self.decoded

    def header(self, name: str) -> str | None:
        values = _values(self.headers, name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return _values(self.headers, name)


@dataclass
class Flow:
    """One request's way through the edge."""

    request: EdgeRequest
    request_id: str = ""
    response: EdgeResponse | None = None
    checked: bool = False  # the request line and headers passed the filters
