"""A flow: one request through the edge and, once forwarded, the upstream's response.

Like mitmproxy's flows, this is what every filter hook receives; tests build one by hand.
Headers stay bytes, as the server received them: filters must see what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = list[tuple[bytes, bytes]]


class _Indexed:
    """Header look-ups through an index built once, and again only if the list was
    replaced or grew (filters look up the same few headers many times per request).
    Headers are changed by appending or by replacing the list, never item by item."""

    headers: Headers
    _index: dict[str, list[str]] | None = None
    _indexed: tuple[Headers, int] | None = None  # the list itself: its id is never reused

    def header_values(self, name: str) -> list[str]:
        """Every value of a header, in order ([] when absent)."""
        index, indexed = self._index, self._indexed
        if (
            index is None
            or indexed is None
            or indexed[0] is not self.headers
            or (indexed[1] != len(self.headers))
        ):
            index = {}
            for raw_name, value in self.headers:
                index.setdefault(raw_name.decode("latin-1").lower(), []).append(
                    value.decode("latin-1")
                )
            self._index, self._indexed = index, (self.headers, len(self.headers))
        return index.get(name.lower(), [])

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        values = self.header_values(name)
        return values[0] if values else None


@dataclass
class EdgeRequest(_Indexed):
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


@dataclass
class EdgeResponse(_Indexed):
    """An upstream's response, whole, before the client sees any of it."""

    status_code: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    decoded: bytes | None = None  # as for a request

    @property
    def inspected(self) -> bytes:
        return self.body if self.decoded is None else self.decoded


@dataclass
class Flow:
    """One request's way through the edge."""

    request: EdgeRequest
    request_id: str = ""
    response: EdgeResponse | None = None
    checked: bool = False  # the request line and headers passed the filters
