"""``python -m edge_proxy``: settings from the environment, logs to stderr, serve."""

from __future__ import annotations

import logging
import sys
from typing import Any

import uvicorn

from edge_proxy.app import create_app
from edge_proxy.config import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn runs the edge; the tests serve it the same way."""
    return {
        "host": settings.host,
        "port": settings.port,
        "http": "h11",  # its parser refuses ambiguous framing (request smuggling)
        "access_log": False,  # uvicorn's access log prints query strings; the edge logs its own
        "log_config": None,
        "server_header": False,
        "proxy_headers": False,  # the client's address is the peer's, never a header's claim
    }


def main() -> None:
    """Build the settings, set up logging and run the edge until stopped."""
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    uvicorn.run(create_app(settings), **server_options(settings))


if __name__ == "__main__":
    main()
