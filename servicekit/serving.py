"""Logging and the server every app-zone service runs under."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import uvicorn

from servicekit.logs import configure_logging as configure_json


def configure_logging(level: str = "INFO", service: str = "strongroom") -> None:
    """JSON lines on stderr (servicekit.logs); `strongroom up` sends them to the data dir."""
    configure_json(service, level)


# How every app-zone service is served (the vault and the API's workers too).
SERVER_OPTIONS: dict[str, Any] = {
    # llhttp (httptools), strict, as the edge's own reader: ambiguous framing is refused,
    # and the edge and its backends parse alike (tests/strongroom/test_server_framing.py).
    # A tenth less CPU per charge than h11, more on the small services (fraud, network).
    "http": "httptools",
    # libuv's event loop (a dependency already: the edge's): less CPU per request.
    "loop": "uvloop",
    "log_config": None,
    # No service reads a client's address or scheme: X-Forwarded-* is not rewritten into
    # every request's scope (a middleware per request), nor believed from a local caller.
    "proxy_headers": False,
    "server_header": False,
    "timeout_graceful_shutdown": 5,
}


class Served(Protocol):
    """What `serve` reads of a service's settings."""

    host: str
    port: int
    tls_cert_file: Path | None
    tls_key_file: Path | None


class Server(uvicorn.Server):
    """uvicorn's server, its housekeeping tick once a second instead of ten times.

    uvicorn wakes ten times a second to see whether a signal asked it to stop, and once
    in ten of them refreshes the Date header: a tenth of an idle service's CPU. Here it
    wakes once a second, when the Date header is due, and at once on a signal: the stop
    is not later, the Date header is as fresh (to the second) as before."""

    _woken: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._woken = woken = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000  # on_tick refreshes the date when % 10 == 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), 1.0)
            woken.clear()
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._woken is not None:
            self._loop.call_soon_threadsafe(self._woken.set)


def serve(app: Any, settings: Served) -> None:
    """Run an ASGI app with uvicorn on the settings' address, as SERVER_OPTIONS say; HTTPS
    when they name a certificate and key. Requests are logged by
    servicekit.metrics.Observe, in the shared JSON schema, not by uvicorn's access log.
    As uvicorn.run does for one process, with the Server above."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        **SERVER_OPTIONS,
    )
    server = Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE
