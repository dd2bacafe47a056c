"""Responses from the app zone are checked for card numbers too: defence in depth.

The app zone should never hold a card number; if a response carries one, something
upstream is already wrong. The client gets 502 ``sensitive_data_in_response`` instead and
an ALERT goes to the log, by place and length only.
"""

from __future__ import annotations

import logging

from edge_proxy.detect import Finding, PanDetector, Uninspectable
from edge_proxy.detect.verdict import CLEAN, Verdict
from edge_proxy.errors import SensitiveDataInResponse, UnreadableResponse
from edge_proxy.filters.base import ANYWHERE, Filter, Room
from edge_proxy.flow import Flow

log = logging.getLogger("edge_proxy.filters.response_pan")


def _alert(flow: Flow, where: str, finding: Finding) -> SensitiveDataInResponse:
    log.error(
        "ALERT card number in upstream response withheld: where=%s digits=%d status=%s "
        "method=%s request_id=%s",
        where,
        finding.digits,
        flow.response.status_code if flow.response else "-",
        flow.request.method,
        flow.request_id,
    )
    return SensitiveDataInResponse()


class PanInResponse(Filter):
    """Every response header and the body; a body that cannot be read is withheld (502).
    The exact path runs only where the fast path cannot clear them, and only as far as
    `room` allows."""

    name = "pan_in_response"

    def __init__(self, detector: PanDetector) -> None:
        self.detector = detector

    def response(self, flow: Flow, room: Room = ANYWHERE) -> Verdict:
        response = flow.response
        if response is None:
            return CLEAN
        verdict = self.detector.scan_headers(response.headers)
        if verdict.needs_exact:
            verdict = self.detector.exact_headers(response.headers, until=room.until)
        if verdict.finding is not None:
            raise _alert(flow, "header", verdict.finding)
        if verdict.needs_exact:
            return verdict
        body, content_type = response.inspected, response.header("content-type")
        try:
            verdict = self.detector.scan_body(body, content_type)
            if verdict.needs_exact and room.holds(len(body)):
                verdict = self.detector.exact_body(body, content_type, until=room.until)
        except Uninspectable:
            raise UnreadableResponse() from None
        if verdict.finding is not None:
            raise _alert(flow, "body", verdict.finding)
        return verdict
