"""Logging and the server every app-zone service runs under."""

from __future__ import annotations

import logging
import sys
from typing import Any

import uvicorn


def configure_logging(level: str = "INFO") -> None:
    """One line per record on stderr; `strongroom up` sends it to the data dir's logs."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )


# How every app-zone service is served (the vault and the API's workers too).
SERVER_OPTIONS: dict[str, Any] = {
    # llhttp (httptools), strict, as the edge's own reader: ambiguous framing is refused,
    # and the edge and its backends parse alike (tests/strongroom/test_server_framing.py).
    # A tenth less CPU per charge than h11, more on the small services (fraud, network).
    "http": "httptools",
    # libuv's event loop (a dependency already: the edge's): less CPU per request.
    "loop": "uvloop",
    "log_config": None,
    "server_header": False,
    "timeout_graceful_shutdown": 5,
}


def serve(app: Any, host: str, port: int, *, access_log: bool = True) -> None:
    """Run an ASGI app with uvicorn, as SERVER_OPTIONS say."""
    uvicorn.run(app, host=host, port=port, access_log=access_log, **SERVER_OPTIONS)
