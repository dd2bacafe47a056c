"""``python -m edge_proxy``: settings from the environment, logs to stderr, serve until
SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import uvloop

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
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            for handler in logging.getLogger().handlers:
                handler.flush()  # a buffered log is written at least once a second
    log.info("edge stopped")


class BufferedStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines go to a 64 KiB buffer on stderr, written out once a second (`run` calls
    `flush`), at once for WARNING and above, and at exit: a write per request would be a
    system call on the event loop for every request."""

    def __init__(self) -> None:
        stream = open(  # noqa: SIM115 - lives as long as the process
            sys.stderr.fileno(), "w", buffering=1 << 16, closefd=False, errors="backslashreplace"
        )
        super().__init__(stream)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
        if record.levelno >= logging.WARNING:
            self.flush()


def configure_logging(level: str) -> BufferedStderr:
    """The edge's logging: one buffered stderr handler on the root logger."""
    handler = BufferedStderr()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    return handler


def main() -> None:
    """Build the settings, set up logging and run the edge until stopped."""
    settings = Settings()
    handler = configure_logging(settings.log_level)
    try:
        uvloop.run(run(settings))
    finally:
        handler.flush()


if __name__ == "__main__":
    main()
