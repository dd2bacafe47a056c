"""Content-Encoding: undone before a body is inspected, or refused when it cannot be.

`DecodeContent` (the router's chain) decodes gzip, deflate and br, stacked too, in any
case and with any whitespace, into `decoded`, which the body filters read; the decoded
bytes are what is forwarded, without Content-Encoding and with their own length (the
router and the API never decode anything: what they read is what was inspected, so a
body that is both valid JSON and a valid deflate stream is read one way only). Anything
else is refused (415), and so is a body that inflates past the inspection limit (413):
a size limit on the compressed bytes says nothing about what a receiver inflates. A body
is decoded only as far as the hook's `Room` allows (on the event loop, what stays small
once decoded); past it the hook answers NEEDS_EXACT and runs again where there is room,
to the full limit (a scanning process). Responses are decoded the same way, or withheld
(502).

`IdentityEncodingOnly` (the vault's chain) refuses any encoded body: the vault parses
the bytes it gets, and the size limit must mean something for those bytes.
"""

from __future__ import annotations

from edge_proxy.detect.codings import check_codings, codings, decode_content
from edge_proxy.detect.errors import Uninspectable
from edge_proxy.detect.verdict import CLEAN, NEEDS_EXACT, Verdict
from edge_proxy.errors import BodyMalformed, BodyUnreadable, UnreadableResponse, UnsupportedEncoding
from edge_proxy.filters.base import ANYWHERE, Filter, Room
from edge_proxy.flow import Flow


def _is_identity(values: list[str]) -> bool:
    return all(coding == "identity" for coding in codings(values))


class IdentityEncodingOnly(Filter):
    """Refuses a request body with a Content-Encoding (415), and withholds such a response
    unless `responses` is off (the vault's responses are not inspected)."""

    name = "identity_encoding"

    def __init__(self, *, responses: bool = True) -> None:
        self.responses = responses

    def requestheaders(self, flow: Flow) -> None:
        if not _is_identity(flow.request.header_values("content-encoding")):
            raise UnsupportedEncoding()

    def response(self, flow: Flow, room: Room = ANYWHERE) -> Verdict:
        if not self.responses or flow.response is None:
            return CLEAN
        if not _is_identity(flow.response.header_values("content-encoding")):
            raise UnreadableResponse()
        return CLEAN


class DecodeContent(Filter):
    """Undoes the body's Content-Encoding into `decoded`, within `max_bytes`."""

    name = "decode_content"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def requestheaders(self, flow: Flow) -> None:
        applied = codings(flow.request.header_values("content-encoding"))
        try:
            check_codings(applied)  # refused before the body is read
        except Uninspectable:
            raise UnsupportedEncoding(param="content-encoding") from None

    def _limit(self, room: Room) -> int:
        return self.max_bytes if room.max_bytes is None else min(room.max_bytes, self.max_bytes)

    def request(self, flow: Flow, room: Room = ANYWHERE) -> Verdict:
        applied = codings(flow.request.header_values("content-encoding"))
        if _is_identity(applied) or not flow.request.body:
            return CLEAN
        limit = self._limit(room)
        try:
            flow.request.decoded = decode_content(flow.request.body, applied, limit)
        except Uninspectable as error:
            if error.kind == "too_large" and limit < self.max_bytes:
                return NEEDS_EXACT  # decoded where there is room, to the full limit
            if error.kind == "too_large":
                raise BodyUnreadable(param="body") from None
            if error.kind == "encoding":
                raise UnsupportedEncoding(param="content-encoding") from None
            raise BodyMalformed("The body does not decode as its Content-Encoding.") from None
        return CLEAN

    def response(self, flow: Flow, room: Room = ANYWHERE) -> Verdict:
        response = flow.response
        if response is None:
            return CLEAN
        applied = codings(response.header_values("content-encoding"))
        if _is_identity(applied) or not response.body:
            return CLEAN
        limit = self._limit(room)
        try:
            response.decoded = decode_content(response.body, applied, limit)
        except Uninspectable as error:
            if error.kind == "too_large" and limit < self.max_bytes:
                return NEEDS_EXACT
            raise UnreadableResponse() from None
        return CLEAN
