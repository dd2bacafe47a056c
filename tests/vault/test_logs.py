"""The log formatter masks digit runs shaped like card numbers, tracebacks included."""

from __future__ import annotations

import datetime as dt
import json
import logging

from vault.logs import JsonFormatter


def _format(record: logging.LogRecord) -> str:
    return JsonFormatter().format(record)


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
    line = json.loads(_format(record))
    assert "ValueError" in line["exception"] and "4000000000000002" not in line["exception"]


def test_short_numbers_are_left_alone() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "port 8084 charge 1000", (), None)
    assert json.loads(_format(record))["message"] == "port 8084 charge 1000"


def test_numbers_parted_by_any_punctuation_are_masked_and_the_time_stamp_is_not() -> None:
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "saw %s", ("4242.4242:4242,4242",), None
    )
    line = json.loads(_format(record))
    assert "4242" not in line["message"] and "[redacted]" in line["message"]
    # Twelve digits and more, parted by no letter but the T: the time stamp is left whole.
    stamp = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
    assert line["timestamp"] == stamp
