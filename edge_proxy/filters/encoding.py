"""Only uncompressed bodies cross the edge, in both directions: what it cannot read, it refuses."""

from __future__ import annotations

from edge_proxy.errors import UnreadableResponse, UnsupportedEncoding
from edge_proxy.filters.base import Filter
from edge_proxy.flow import Flow


def _is_identity(values: list[str]) -> bool:
    codings = [c.strip().lower() for value in values for c in value.split(",")]
    return all(coding in ("", "identity") for coding in codings)


class IdentityEncodingOnly(Filter):
    """Refuses a request body with a Content-Encoding (415), and withholds such a response.

    A compressed body cannot be scanned without inflating it, and a size limit on the
    compressed bytes says nothing about what a receiver inflates. The edge asks upstreams
    for ``identity``; a response encoded anyway is not passed on (502), unless
    `responses` is off: the vault's responses are not inspected.
    """

    name = "identity_encoding"

    def __init__(self, *, responses: bool = True) -> None:
        self.responses = responses

    def requestheaders(self, flow: Flow) -> None:
        if not _is_identity(flow.request.header_values("content-encoding")):
            raise UnsupportedEncoding()

    def response(self, flow: Flow) -> None:
        if not self.responses or flow.response is None:
            return
        if not _is_identity(flow.response.header_values("content-encoding")):
            raise UnreadableResponse()
