"""One JSON log line per request, with no card number in it, ever.

Lines go through the logging module (logger ``edge_proxy.access``), or, when the edge is
given a `sink`, straight into it already formatted as its log lines are (``python -m
edge_proxy`` passes its stderr buffer): a log record per request costs more CPU than the
rest of the line. Health probes are logged at DEBUG only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from json.encoder import encode_basestring_ascii

from edge_proxy.detect import PanDetector
from edge_proxy.flow import EdgeRequest
from edge_proxy.logs import Stamp

log = logging.getLogger("edge_proxy.access")

REDACTED = "[redacted]"
SERVICE = "edge"
# Thirteen digits or more in a row (as sent, or percent-escaped), whatever surrounds them:
# the detector passes a card number glued to letters (`ch4242…`, the price of its
# precision), but a log line needs no precision, so any such run is masked.
_LONG_DIGITS = re.compile(r"(?:[0-9]|%3[0-9])(?:[0-9]|%3[0-9]){12,}", re.ASCII)


def _quote(value: str | None) -> str:
    """A JSON string (or null), escaped as json.dumps escapes it."""
    return "null" if value is None else encode_basestring_ascii(value)


class AccessLog:
    """Logs method, host, path (never the query), route (where the edge sent it), status,
    duration, request id and the reason the edge answered itself, if it did, as one JSON
    line in the schema of edge_proxy.logs.

    A value is logged only if the detector finds no card number in it: the log must hold
    none, even of a request that was refused for carrying one; and a run of 13 digits or
    more in the path or Host is masked whatever the detector says.
    """

    def __init__(self, detector: PanDetector, sink: Callable[[str], None] | None = None) -> None:
        self.detector = detector
        self.sink = sink
        self._stamp = Stamp()

    def _safe(self, value: str | None) -> str | None:
        # Read as the path filter reads: every percent layer, so no encoded card slips by.
        return value if self.detector.values(value) else REDACTED

    def record(
        self,
        request: EdgeRequest,
        status: int,
        seconds: float,
        request_id: str,
        reason: str | None,
        *,
        checked: bool = False,
        route: str = "-",
    ) -> None:
        """Write the request's line: at INFO, or DEBUG for the health probe. `checked`: the
        filters have already found no card number in the method, Host and path."""
        level = logging.DEBUG if route == "health" else logging.INFO
        if not log.isEnabledFor(level):
            return
        method: str | None = request.method
        host: str | None = request.header("host")
        path: str | None = request.path
        if not checked and not self.detector.values(method, host, path):
            method, host, path = self._safe(method), self._safe(host), self._safe(path)
        if path is not None:
            path = _LONG_DIGITS.sub(REDACTED, path)
        if host is not None:
            host = _LONG_DIGITS.sub(REDACTED, host)
        fields = {
            "event": "request",
            "request_id": request_id,
            "method": method,
            "host": host,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "reason": reason,
        }
        if self.sink is None:
            log.log(level, "request", extra=fields)
            return
        # The line json.dumps would write, put together by hand: a third of its cost, on
        # every request. Strings are quoted by json's own (C) encoder.
        self.sink(
            f'{{"timestamp":"{self._stamp()}","level":"{logging.getLevelName(level).lower()}",'
            f'"service":"{SERVICE}","logger":"{log.name}","message":"request",'
            f'"event":"request","request_id":{_quote(request_id)},"method":{_quote(method)},'
            f'"host":{_quote(host)},"path":{_quote(path)},"route":{_quote(route)},'
            f'"status":{int(status)},"duration_ms":{fields["duration_ms"]},'
            f'"reason":{_quote(reason)}}}'
        )
