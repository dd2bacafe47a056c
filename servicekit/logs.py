"""One JSON log schema for every Strongroom service, and the request id that ties them.

Every line is one JSON object with at least ``timestamp`` (UTC, ISO 8601, milliseconds),
``level``, ``service``, ``logger`` and ``message``. A line written while a request is
being served carries its ``request_id`` (the edge's X-Request-Id, passed on by every hop);
the one line per request adds ``event: "request"``, ``method``, ``route`` (the route's
template, never the raw path), ``status`` and ``duration_ms``. docs/operations.md, "Logs".
The vault and the edge write the same schema with their own code (they import nothing
of this repository); tests/strongroom/test_logs.py holds them to it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
import time
from contextvars import ContextVar
from json.encoder import encode_basestring_ascii
from typing import Any

import httpx

# The request being served, as the edge named it; None outside a request.
REQUEST_ID: ContextVar[str | None] = ContextVar("strongroom_request_id", default=None)

# LogRecord attributes that are logging's own; any other attribute is a field of the line.
_OWN = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def timestamp(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON in the shared schema; `extra=` fields are added."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": timestamp(record.created),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _OWN and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def lighten_records() -> None:
    """Records without what the schema does not write: the caller's file and line (a stack
    walk per record), the process id (a system call), thread and process names. A request
    line then costs a third of what it did (the logging cookbook's "Optimization")."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class RequestLines:
    """The one line per request, written straight to the handler `configure_logging` set
    up, formatted by hand as JsonFormatter would format it: a log record per request costs
    three times the line (the edge does the same, edge_proxy.record)."""

    def __init__(self, service: str, handler: logging.StreamHandler[Any]) -> None:
        self.prefix = f',"service":{_quote(service)},"logger":"strongroom.access"'
        self.handler = handler
        self._second = -1  # the whole second `_stamp` spells, the same for a second's lines
        self._stamp = ""
        self._levels: dict[int, str] = {}

    def _timestamp(self, now: float) -> str:
        """timestamp(now), the date and time spelt once a second, not once a line."""
        second, millis = divmod(int(now * 1000), 1000)
        if second != self._second:
            self._stamp = dt.datetime.fromtimestamp(second, dt.UTC).isoformat(timespec="seconds")
            self._second = second
        return f"{self._stamp[:-6]}.{millis:03d}+00:00"

    def write(self, level: int, request_id: str, fields: dict[str, Any]) -> None:
        name = self._levels.get(level)
        if name is None:
            name = self._levels[level] = logging.getLevelName(level).lower()
        line = (
            f'{{"timestamp":"{self._timestamp(time.time())}","level":"{name}"'
            f'{self.prefix},"message":"request","request_id":{_quote(request_id)},'
            f'"event":"request","method":{_quote(fields["method"])},'
            f'"route":{_quote(fields["route"])},"status":{int(fields["status"])},'
            f'"duration_ms":{float(fields["duration_ms"])}}}\n'
        )
        handler = self.handler
        # The handler's own lock, as its emit takes it: lines of other threads never mix.
        # stderr gone or closed: the line is lost, the request is not.
        with handler.lock or contextlib.nullcontext(), contextlib.suppress(OSError, ValueError):
            stream = handler.stream
            stream.write(line)
            stream.flush()


def _quote(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


# Set by configure_logging; None (tests, a process that set up logging otherwise): the
# request line goes through the logging module, to whatever handlers there are.
request_lines: RequestLines | None = None


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stderr; `strongroom up` sends them to the data dir's logs."""
    global request_lines
    lighten_records()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    request_lines = RequestLines(service, handler)
    # httpx logs every request it sends at INFO, without the route: the server's line says it.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def pass_request_id(request: httpx.Request) -> None:
    """An httpx request hook: the request being served names the calls it makes."""
    request_id = REQUEST_ID.get()
    if request_id is not None and "x-request-id" not in request.headers:
        request.headers["x-request-id"] = request_id
