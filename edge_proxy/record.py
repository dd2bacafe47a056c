"""One structured log line per request, with no card number in it, ever.

Lines go through the logging module (logger ``edge_proxy.access``), or, when the edge is
given a `sink`, straight into it already formatted as its log lines are (``python -m
edge_proxy`` passes its stderr buffer): a log record per request costs more CPU than the
rest of the line.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from edge_proxy.detect import PanDetector
from edge_proxy.flow import EdgeRequest

log = logging.getLogger("edge_proxy.access")

REDACTED = "[redacted]"


_PLAIN = re.compile(r"[!#-<>-\[\]-~]+")  # printable ASCII but space, quote, "=", backslash


def _value(value: object) -> str:
    """A logfmt value: as is when plain, else quoted with its escapes shown."""
    text = "-" if value is None else str(value)
    if not _PLAIN.fullmatch(text):
        text = '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    return text


class AccessLog:
    """Logs method, host, path (never the query), status, duration, request id and the
    reason the edge answered itself, if it did, in logfmt.

    A value is logged only if the detector finds no card number in it: the log must hold
    none, even of a request that was refused for carrying one.
    """

    def __init__(self, detector: PanDetector, sink: Callable[[str], None] | None = None) -> None:
        self.detector = detector
        self.sink = sink
        self._second: tuple[int, str] = (0, "")

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
        # Status and duration are numbers, plain by construction; the rest may come from
        # the client (the reason can name a header) and is quoted when it needs to be.
        line = (
            f"method={_value(method)} host={_value(host)} path={_value(path)} status={status} "
            f"duration_ms={round(seconds * 1000, 1)} request_id={_value(request_id)} "
            f"reason={_value(reason)}"
        )
        if self.sink is None:
            log.info("request %s", line)
        else:
            self.sink(f"{self._timestamp()} INFO {log.name} request {line}")

    def _timestamp(self) -> str:
        """As logging's default asctime: local time with milliseconds."""
        now = time.time()
        second = int(now)
        if self._second[0] != second:
            self._second = (second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)))
        return f"{self._second[1]},{int((now - second) * 1000):03d}"
