"""``python -m merchant_demo``: settings from the environment, serve the shop."""

from __future__ import annotations

import logging
import sys

import uvicorn

from merchant_demo.app import create_app
from merchant_demo.config import Settings


def main() -> None:
    settings = Settings()  # the keys come from the environment
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
        http="h11",
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
