"""Logging and the server every app-zone service runs under."""

from __future__ import annotations

from pathlib import Path
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


def serve(app: Any, settings: Served) -> None:
    """Run an ASGI app with uvicorn on the settings' address, as SERVER_OPTIONS say; HTTPS
    when they name a certificate and key. Requests are logged by
    servicekit.metrics.Observe, in the shared JSON schema, not by uvicorn's access log."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        **SERVER_OPTIONS,
    )
