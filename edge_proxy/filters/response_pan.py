"""Responses from the app zone are checked for card numbers too: defence in depth.

The app zone should never hold a card number; if a response carries one, something
upstream is already wrong. The client gets 502 ``sensitive_data_in_response`` instead and
an ALERT goes to the log, by place and length only.
"""

from __future__ import annotations

import logging

from edge_proxy.detect import Finding, PanDetector, Uninspectable
from edge_proxy.errors import SensitiveDataInResponse, UnreadableResponse
from edge_proxy.filters.base import Filter
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
    """Every response header and the body; a body that cannot be read is withheld (502)."""

    name = "pan_in_response"

    def __init__(self, detector: PanDetector) -> None:
        self.detector = detector

    def response(self, flow: Flow) -> None:
        response = flow.response
        if response is None:
            return
        found = self.detector.headers(response.headers)
        if found is not None:
            raise _alert(flow, "header", found[1])
        try:
            finding = self.detector.body(response.inspected, response.header("content-type"))
        except Uninspectable:
            raise UnreadableResponse() from None
        if finding is not None:
            raise _alert(flow, "body", finding)
