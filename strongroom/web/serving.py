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


def serve(
    app: Any, host: str, port: int, *, access_log: bool = True, loop: str = "asyncio"
) -> None:
    """Run an ASGI app with uvicorn on h11, whose parser refuses ambiguous framing."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        http="h11",
        loop=loop,
        access_log=access_log,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
