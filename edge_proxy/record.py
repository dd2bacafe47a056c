"""One structured log line per request, with no card number in it, ever."""

from __future__ import annotations

import logging
import re
from typing import Any

from edge_proxy.detect import PanDetector
from edge_proxy.flow import EdgeRequest

log = logging.getLogger("edge_proxy.access")

REDACTED = "[redacted]"


_PLAIN = re.compile(r"[!#-<>-\[\]-~]+")  # printable ASCII but space, quote, "=", backslash


def _logfmt(fields: dict[str, Any]) -> str:
    parts = []
    for key, value in fields.items():
        text = "-" if value is None else str(value)
        if not _PLAIN.fullmatch(text):
            text = '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


class AccessLog:
    """Logs method, host, path (never the query), status, duration, request id and the
    reason the edge answered itself, if it did, in logfmt.

    A value is logged only if the detector finds no card number in it: the log must hold
    none, even of a request that was refused for carrying one.
    """

    def __init__(self, detector: PanDetector) -> None:
        self.detector = detector

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
    ) -> None:
        """Write the request's line, if INFO is on. `checked`: the filters have already
        found no card number in the method, Host and path."""
        if not log.isEnabledFor(logging.INFO):
            return
        method: str | None = request.method
        host: str | None = request.header("host")
        path: str | None = request.path
        if not checked and not self.detector.values(method, host, path):
            method, host, path = self._safe(method), self._safe(host), self._safe(path)
        fields = {
            "method": method,
            "host": host,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "request_id": request_id,
            "reason": reason,
        }
        log.info("request %s", _logfmt(fields))
