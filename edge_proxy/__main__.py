"""``python -m edge_proxy``: settings from the environment, logs to stderr, serve."""

from __future__ import annotations

import logging
import sys

import uvicorn

from edge_proxy.app import create_app
from edge_proxy.config import Settings


def main() -> None:
    """Build the settings, set up logging and run the edge until stopped."""
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        http="h11",  # its parser refuses ambiguous framing (smuggling)
        access_log=False,  # uvicorn's access log prints query strings; the edge logs its own
        log_config=None,
        server_header=False,
        proxy_headers=False,  # the client's address is the peer's, never a header's claim
    )


if __name__ == "__main__":
    main()
