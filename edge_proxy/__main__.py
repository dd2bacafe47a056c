"""``python -m edge_proxy``: settings from the environment, logs to stderr, serve until
SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from edge_proxy.app import EdgeServer
from edge_proxy.config import Settings

log = logging.getLogger("edge_proxy")


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (by SIGTERM or SIGINT when not given)."""
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    async with EdgeServer(settings):
        log.info("edge listening on http://%s:%d", settings.host, settings.port)
        await stop.wait()
    log.info("edge stopped")


def main() -> None:
    """Build the settings, set up logging and run the edge until stopped."""
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
