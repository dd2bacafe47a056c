"""The request line servicekit.logs.RequestLines writes by hand: JsonFormatter's schema and
timestamps, though it spells the date and time once a second."""

from __future__ import annotations

import io
import json
import logging

from servicekit.logs import RequestLines, timestamp

FIELDS = {"method": "POST", "route": "/v1/charges", "status": 402, "duration_ms": 1.5}


def test_request_lines_stamp_each_line_as_timestamp_does_across_seconds() -> None:
    stream = io.StringIO()
    lines = RequestLines("router", logging.StreamHandler(stream))
    moments = [1_800_000_000.0, 1_800_000_000.25, 1_800_000_000.999, 1_800_000_001.0005, 86_400.5]
    for moment in moments:
        assert lines._timestamp(moment) == timestamp(moment)


def test_a_request_line_is_one_json_object_in_the_shared_schema() -> None:
    stream = io.StringIO()
    lines = RequestLines("fraud", logging.StreamHandler(stream))
    lines.write(logging.INFO, "req_0123456789abcdef", FIELDS)
    lines.write(logging.DEBUG, "req_0123456789abcdef", {**FIELDS, "route": "/healthz"})
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {
        "timestamp": first["timestamp"],
        "level": "info",
        "service": "fraud",
        "logger": "strongroom.access",
        "message": "request",
        "request_id": "req_0123456789abcdef",
        "event": "request",
        **FIELDS,
    }
    assert first["timestamp"].endswith("+00:00") and len(first["timestamp"]) == 29
    assert (second["level"], second["route"]) == ("debug", "/healthz")
