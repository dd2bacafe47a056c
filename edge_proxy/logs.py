"""The edge's log lines as JSON, in the schema every Strongroom service writes
(servicekit/logs.py; docs/operations.md, "Logs"): timestamp, level, service, logger,
message, and the fields a line adds (request_id, route, status, duration_ms…). The edge
imports nothing of this repository, so it has its own formatter; a test holds both to it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

SERVICE = "edge"
# LogRecord attributes that are logging's own; any other attribute is a field of the line.
_OWN = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def timestamp(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """A record as one JSON line; `extra=` fields are added. A message never holds client
    input the detector has not cleared (the callers see to it, as before)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": timestamp(record.created),
            "level": record.levelname.lower(),
            "service": SERVICE,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _OWN and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class Stamp:
    """The timestamp field for lines written without a log record (the access log's sink),
    its second formatted once per second."""

    def __init__(self) -> None:
        self._second: tuple[int, str] = (0, "")

    def __call__(self) -> str:
        now = time.time()
        second = int(now)
        if self._second[0] != second:
            text = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (second, text)
        return f"{self._second[1]}.{int((now - second) * 1000):03d}+00:00"
