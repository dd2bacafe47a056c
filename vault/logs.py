"""Logging to stderr through a formatter that masks anything shaped like a card number.

The vault never logs a PAN by construction (Pan masks itself, errors quote no input);
this is the second line: a formatted record, traceback included, loses every run of 12
or more digits before it is written.
"""

from __future__ import annotations

import logging
import re
import sys

_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){11,}")


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _DIGIT_RUN.sub("[redacted]", super().format(record))


def configure_logging(level: str) -> None:
    """One line per record on stderr; `strongroom up` sends it to the data dir's logs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
