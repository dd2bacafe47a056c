"""Logging to stderr through a formatter that masks anything that could be a card number.

The vault never logs a PAN by construction (Pan masks itself, errors quote no input);
this is the second line: a record's message and traceback lose every stretch of twelve
digits (vault.domain.card_numbers) before they are written. The time stamp the format
adds is left alone.
"""

from __future__ import annotations

import logging
import sys

from vault.domain.card_numbers import redact_card_numbers


class RedactingFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        clean = logging.makeLogRecord(record.__dict__)
        clean.message = redact_card_numbers(record.message)
        return super().formatMessage(clean)

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return redact_card_numbers(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact_card_numbers(super().formatStack(stack_info))


def configure_logging(level: str) -> None:
    """One line per record on stderr; `strongroom up` sends it to the data dir's logs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
