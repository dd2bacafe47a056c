"""Requests bound for the app zone must carry no card number: path, query, headers, body.

Each place is its own filter, so each can be tested alone and the vault's chain can leave
the body out. A refusal is 400 ``pan_detected`` with ``param`` naming the place; the log
line says where and how many digits, never which.
"""

from __future__ import annotations

import logging

from edge_proxy.detect import Finding, PanDetector, Uninspectable
from edge_proxy.detect.app_body import BodyRefused
from edge_proxy.detect.verdict import Verdict
from edge_proxy.errors import (
    BodyMalformed,
    BodyTooComplex,
    BodyUnreadable,
    EdgeError,
    HeadTooComplex,
    InvalidForm,
    InvalidJson,
    PanDetected,
    UnsupportedCharset,
    UnsupportedEncoding,
    UnsupportedMediaType,
)
from edge_proxy.filters.base import ANYWHERE, Filter, Room
from edge_proxy.flow import Flow

log = logging.getLogger("edge_proxy.filters.pan")


def refuse(flow: Flow, where: str, finding: Finding) -> PanDetected:
    """Log a refused card number by place and length only, and build the error."""
    log.warning(
        "card number refused: where=%s digits=%d request_id=%s",
        where,
        finding.digits,
        flow.request_id,
    )
    return PanDetected(param=where)


def uninspectable(error: Uninspectable, where: str) -> EdgeError:
    """The client error for a body the detector cannot read."""
    if error.kind == "charset":
        return UnsupportedCharset(param=where)
    if error.kind == "encoding":
        return UnsupportedEncoding(param=where)
    if error.kind == "too_large":
        return BodyUnreadable(param=where)
    if error.kind == "too_slow":
        return BodyTooComplex(param=where)
    return BodyMalformed(error.message, param=where)


def refused(error: BodyRefused) -> EdgeError:
    """The client error for a body the API would not read (the body contract)."""
    if error.code == "unsupported_media_type":
        return UnsupportedMediaType(param="content-type")
    if error.code == "invalid_form":
        return InvalidForm(error.message, param="body")
    return InvalidJson(error.message, param="body")


class PanInPath(Filter):
    """The path as sent and percent-decoded, each layer."""

    name = "pan_in_path"

    def __init__(self, detector: PanDetector) -> None:
        self.detector = detector

    def requestheaders(self, flow: Flow) -> None:
        try:
            finding = self.detector.path(flow.request.raw_path)
        except Uninspectable:
            raise HeadTooComplex(param="path") from None  # fail closed
        if finding is not None:
            raise refuse(flow, "path", finding)


class PanInQuery(Filter):
    """The query string as sent and percent-decoded, each layer, and each value with
    its name as context."""

    name = "pan_in_query"

    def __init__(self, detector: PanDetector) -> None:
        self.detector = detector

    def requestheaders(self, flow: Flow) -> None:
        try:
            finding = self.detector.query(flow.request.query_string)
        except Uninspectable:
            raise HeadTooComplex(param="query") from None  # fail closed
        if finding is not None:
            raise refuse(flow, "query", finding)


class PanInHeaders(Filter):
    """Every header's name and value: Cookie and Authorization too (keys never look like PANs)."""

    name = "pan_in_headers"

    def __init__(self, detector: PanDetector) -> None:
        self.detector = detector

    def requestheaders(self, flow: Flow) -> None:
        try:
            found = self.detector.headers(flow.request.headers)
        except Uninspectable:
            raise HeadTooComplex(param="header") from None  # fail closed
        if found is None:
            return
        name, finding = found
        if name is None:
            raise refuse(flow, "header", finding)  # the name is the card: not repeated
        raise refuse(flow, "header:" + name.decode("latin-1").lower(), finding)


class PanInBody(Filter):
    """The body (decoded, if it was encoded), read exactly as the API behind the router
    reads it (JSON or form, UTF-8: `detect.app_body`); a body the API would read
    differently, or the edge cannot read in time, is refused. The exact path runs only
    when the fast path cannot clear the body, and only if `room` holds it."""

    name = "pan_in_body"

    def __init__(self, detector: PanDetector) -> None:
        self.detector = detector

    def request(self, flow: Flow, room: Room = ANYWHERE) -> Verdict:
        body = flow.request.inspected
        types = flow.request.header_values("content-type")
        if body and len(types) > 1:
            raise UnsupportedMediaType(param="content-type")  # which one would it read?
        content_type = types[0] if types else None
        try:
            verdict = self.detector.scan_app_body(body, content_type)
            if verdict.needs_exact and room.holds(len(body)):
                verdict = self.detector.exact_app_body(body, content_type, until=room.until)
        except BodyRefused as error:
            raise refused(error) from None
        except Uninspectable as error:
            raise uninspectable(error, "body") from None
        if verdict.finding is not None:
            raise refuse(flow, "body", verdict.finding)
        return verdict
