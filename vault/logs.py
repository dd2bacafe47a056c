"""Logging to stderr through a formatter that masks anything that could be a card number.

The vault never logs a PAN by construction (Pan masks itself, errors quote no input);
this is the second line: a record's message and traceback lose every stretch of twelve
digits (vault.domain.card_numbers) before they are written. The time stamp the format
adds is left alone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from contextvars import ContextVar
from typing import Any

from vault.domain.card_numbers import redact_card_numbers

# The request being served, as the edge named it (vault.observe sets it); None outside one.
REQUEST_ID: ContextVar[str | None] = ContextVar("vault_request_id", default=None)
_OWN = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A record as one JSON line in the schema every Strongroom service writes
    (servicekit.logs, docs/operations.md "Logs"), every text in it masked as above."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "service": "vault",
            "logger": record.name,
            "message": redact_card_numbers(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = redact_card_numbers(request_id)
        for key, value in record.__dict__.items():
            if key not in _OWN and not key.startswith("_"):
                line[key] = redact_card_numbers(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = redact_card_numbers(self.formatException(record.exc_info))
        return json.dumps(line, default=str, separators=(",", ":"))


def configure_logging(level: str) -> None:
    """JSON lines on stderr; `strongroom up` sends them to the data dir's logs."""
    # Records without what the schema does not write (caller's file, pid, thread names).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
