"""``python -m edge_proxy``: settings from the environment, logs to stderr, serve until
SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import queue
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


def configure_logging(level: str) -> logging.handlers.QueueListener:
    """Logs to stderr, written by a thread of their own (started here; stop it at the
    end): a write per request would otherwise be a system call on the event loop."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler)
    logging.basicConfig(level=level, handlers=[logging.handlers.QueueHandler(records)], force=True)
    listener.start()
    return listener


def main() -> None:
    """Build the settings, set up logging and run the edge until stopped."""
    settings = Settings()
    listener = configure_logging(settings.log_level)
    try:
        asyncio.run(run(settings))
    finally:
        listener.stop()  # writes what is still queued


if __name__ == "__main__":
    main()
