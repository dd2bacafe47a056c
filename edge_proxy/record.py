"""Every request gets an id and one structured log line; plain ASGI middleware."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge_proxy.detect import PanDetector
from edge_proxy.request_id import accepted_request_id, new_request_id

log = logging.getLogger("edge_proxy.access")

REDACTED = "[redacted]"


def _logfmt(fields: dict[str, Any]) -> str:
    parts = []
    for key, value in fields.items():
        text = "-" if value is None else str(value)
        if not text or any(c in text for c in ' "=\\') or not text.isprintable():
            text = '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


class RequestRecord:
    """Assigns the request id (``scope["state"]["request_id"]``), echoes it in the
    response's X-Request-Id, and logs method, host, path (never the query), status,
    duration, id and the reason the edge answered itself, if it did.

    A value is logged only if the detector finds no card number in it: the log must hold
    none, even of a request that was refused for carrying one.
    """

    def __init__(self, app: ASGIApp, detector: PanDetector) -> None:
        self.app = app
        self.detector = detector

    def _safe(self, value: str | None) -> str | None:
        # Read as the path filter reads: every percent layer, so no encoded card slips by.
        if value is None or self.detector.header(value.encode("utf-8", "surrogatepass")) is None:
            return value
        return REDACTED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = accepted_request_id(headers.get("x-request-id"), self.detector)
        request_id = request_id or new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            fields = {
                "method": self._safe(scope["method"]),
                "host": self._safe(headers.get("host")),
                "path": self._safe(scope["path"]),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "request_id": request_id,
                "reason": state.get("reason"),
            }
            log.info("request %s", _logfmt(fields))
