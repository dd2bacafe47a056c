"""``python -m edge_proxy``: settings from the environment, logs to stderr, serve until
SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import sys
from collections.abc import Callable

import uvloop
from pydantic import ValidationError

from edge_proxy.app import EdgeServer
from edge_proxy.config import Settings
from edge_proxy.detect import fast
from edge_proxy.logs import JsonFormatter
from edge_proxy.workers import run_workers

log = logging.getLogger("edge_proxy")


async def run(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    access_sink: Callable[[str], None] | None = None,
) -> None:
    """Serve until `stop` is set (by SIGTERM or SIGINT when not given); access log lines
    go to `access_sink` when given, else through logging."""
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    async with EdgeServer(settings, access_sink=access_sink):
        scheme = "https" if settings.tls_cert_file is not None else "http"
        log.info("edge listening on %s://%s:%d", scheme, settings.host, settings.port)
        if not fast.BUILT:
            log.warning(
                "the detector's C scanner (edge_proxy.detect._scan) is not built: its fast "
                "path runs in Python (twice the CPU per 1 KB request, five times per 64 KB); "
                "run `make install`"
            )
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            for handler in logging.getLogger().handlers:
                handler.flush()  # a buffered log is written at least once a second
            if settings.worker_of is not None and os.getppid() != settings.worker_of:
                log.error("the edge's parent process %d is gone: stopping", settings.worker_of)
                break
    log.info("edge stopped")


class BufferedStderr(logging.Handler):
    """Log lines go to a buffer, written to stderr once a second (`run` calls `flush`), at
    once for WARNING and above, when 64 KiB are waiting, and at exit: a write per request
    would be a system call on the event loop for every request.

    Every write holds whole lines and at most PIPE_BUF bytes (a longer line goes alone):
    the workers of one edge share stderr, and such writes never interleave, on a pipe or
    on a file opened for appending.
    """

    def __init__(self, fd: int | None = None, limit: int = 1 << 16) -> None:
        super().__init__()
        self.fd = sys.stderr.fileno() if fd is None else fd
        self.limit = limit
        self.lines: list[bytes] = []
        self.size = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._add(text, urgent=record.levelno >= logging.WARNING)

    def write_line(self, text: str) -> None:
        """A line formatted by its writer (the access log), in turn with the records."""
        self.acquire()
        try:
            self._add(text, urgent=False)
        finally:
            self.release()

    def _add(self, text: str, *, urgent: bool) -> None:
        line = (text + "\n").encode("utf-8", "backslashreplace")
        self.lines.append(line)
        self.size += len(line)
        if urgent or self.size >= self.limit:
            self._write()

    def flush(self) -> None:
        self.acquire()
        try:
            self._write()
        finally:
            self.release()

    def _write(self) -> None:
        writes: list[bytes] = []
        chunk: list[bytes] = []
        size = 0
        for line in self.lines:
            if chunk and size + len(line) > select.PIPE_BUF:
                writes.append(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            writes.append(b"".join(chunk))
        self.lines, self.size = [], 0
        try:
            for data in writes:
                while data:
                    data = data[os.write(self.fd, data) :]
        except OSError:
            pass  # stderr is gone: these lines are lost; the edge goes on serving


def configure_logging(level: str) -> BufferedStderr:
    """The edge's logging: one buffered stderr handler on the root logger."""
    handler = BufferedStderr()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    return handler


def main() -> None:
    """Build the settings, set up logging and run the edge until stopped."""
    try:
        settings = Settings()
    except ValidationError as exc:
        # Fail closed with the names of the bad settings, never their values: one is a
        # credential (EDGE_VAULT_CREDENTIAL).
        for error in exc.errors(include_input=False, include_url=False):
            loc = "_".join(str(part) for part in error["loc"]).upper()
            print(f"edge: {f'EDGE_{loc}' if loc else 'settings'}: {error['msg']}", file=sys.stderr)
        sys.exit(2)
    handler = configure_logging(settings.log_level)
    if settings.workers > 1:
        try:
            sys.exit(run_workers(settings))
        finally:
            handler.flush()
    try:
        uvloop.run(run(settings, access_sink=handler.write_line))
    finally:
        handler.flush()


if __name__ == "__main__":
    main()
