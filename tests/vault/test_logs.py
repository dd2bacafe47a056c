"""The log formatter masks digit runs shaped like card numbers, tracebacks included."""

from __future__ import annotations

import logging

from vault.logs import RedactingFormatter


def _format(record: logging.LogRecord) -> str:
    return RedactingFormatter("%(message)s").format(record)


def test_card_shaped_digit_runs_are_masked() -> None:
    for number in (
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "378282246310005",
    ):
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "saw %s here", (number,), None)
        text = _format(record)
        assert number not in text and "[redacted]" in text


def test_tracebacks_are_masked_too() -> None:
    try:
        raise ValueError("bad 4000000000000002")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "4000000000000002" not in _format(record)


def test_short_numbers_are_left_alone() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "port 8084 charge 1000", (), None)
    assert _format(record) == "port 8084 charge 1000"


def test_numbers_parted_by_any_punctuation_are_masked_and_the_time_stamp_is_not() -> None:
    formatter = RedactingFormatter("%(asctime)s %(message)s")
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "saw %s", ("4242.4242:4242,4242",), None
    )
    text = formatter.format(record)
    assert "4242" not in text and "[redacted]" in text
    assert text.startswith(formatter.formatTime(record))
