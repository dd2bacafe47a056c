"""uvicorn's llhttp protocol with a deadline for each request's head, which uvicorn lacks.

uvicorn times no request: its keep-alive timer starts only after an answer and any byte
cancels it, so a caller that connects and sends nothing, or drips a head a byte at a
time, holds its connection (a file descriptor, a protocol, a parser) for ever
(encode/uvicorn#157). Here a head must be whole within `head_timeout` of the connection's
accept or of its previous answer; if not, the connection is answered 408 in the error
envelope (silently closed if nothing came) and closed. The body has its own deadline,
where it is read (vault.routes.common.BodyLimit); between them, no moment of a request's
arrival is untimed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("vault.server")

_BODY = json.dumps(
    {
        "error": {
            "type": "invalid_request_error",
            "code": "request_timeout",
            "message": "The request was not received in time.",
        }
    }
).encode()
TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_BODY), _BODY)
)


class HeadDeadline(HttpToolsProtocol):
    """One connection; `with_head_deadline` sets its timeout and what a 408 reports to."""

    head_timeout = 10.0
    _timer: asyncio.TimerHandle | None = None
    _partial = False  # bytes have come since the timer was armed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._partial = self._partial or bool(data)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()  # the body's deadline runs where the app reads it
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a whole head is queued: its request starts now
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm()

    def timed_out(self) -> None:
        """A head was answered 408."""

    def _arm(self) -> None:
        self._disarm()
        self._partial = False
        self._timer = self.loop.call_later(self.head_timeout, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._partial:  # a head begun (or the rest of an unread body): answered
            log.warning("request head not received in %.0f s: 408, closed", self.head_timeout)
            self.timed_out()
            self.transport.write(TIMED_OUT)
        self.transport.close()  # fail closed: nothing later on it is read


def with_head_deadline(seconds: float, report: Callable[[], None]) -> type[HeadDeadline]:
    """The protocol class uvicorn is given (`http=`): heads timed at `seconds`, each 408
    reported to `report` (the metrics)."""

    class VaultHttp(HeadDeadline):
        head_timeout = seconds

        def timed_out(self) -> None:
            report()

    return VaultHttp
