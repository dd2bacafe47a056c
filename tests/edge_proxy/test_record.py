import logging
import time

import pytest

from edge_proxy.record import _value


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO, logger="edge_proxy")
    return caplog


def access_lines(caplog, count: int = 1) -> list[str]:
    """The access log lines, once `count` are there: a line is written after the response."""
    deadline = time.monotonic() + 5
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name == "edge_proxy.access"]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def test_one_line_per_request_without_the_query(edge, upstreams, logs):
    response = edge.get("/v1/charges?limit=3&secret=abc", headers={"host": "api.localhost:8080"})
    (line,) = access_lines(logs)
    assert line.startswith("request method=GET host=api.localhost:8080 path=/v1/charges status=200")
    assert f"request_id={response.headers['x-request-id']}" in line
    assert "duration_ms=" in line and "reason=-" in line
    assert "limit" not in line and "secret" not in line


def test_a_refused_request_logs_its_reason_and_no_card(edge, upstreams, logs):
    pan = "5555555555554444"
    edge.get(f"/v1/customers/{pan}", headers={"cookie": f"memo={pan}"})
    edge.get(f"/v1/customers/x?{pan}", headers={"x-request-id": pan})
    edge.get("/v1/customers/x", headers={"host": f"{pan}.example"})
    lines = access_lines(logs, 3)
    assert "path=[redacted] status=400" in lines[0] and "reason=pan_detected:path" in lines[0]
    assert "reason=pan_detected:query" in lines[1]
    assert "host=[redacted]" in lines[2] and "reason=misdirected_request" in lines[2]
    assert pan not in logs.text and pan[:6] not in logs.text and pan[-4:] not in logs.text


def test_a_percent_encoded_card_in_the_path_is_redacted_too(edge, upstreams, logs):
    edge.get("/v1/x/%2534%2532%2534%2532" + "%2534%2532" * 6)
    assert "path=[redacted]" in access_lines(logs)[0]


def test_logfmt_values_are_quoted_when_they_need_it():
    values = [_value(v) for v in ("x y", None, 'q"\n', 1, "plain")]
    assert values == ['"x y"', "-", '"q\\"\\n"', "1", "plain"]


def test_with_a_sink_lines_skip_logging_and_look_like_its_lines(logs):
    from edge_proxy.detect import PanDetector
    from edge_proxy.flow import EdgeRequest
    from edge_proxy.record import AccessLog

    lines: list[str] = []
    access = AccessLog(PanDetector(), lines.append)
    request = EdgeRequest("GET", "/v1/x", b"/v1/x", headers=[(b"host", b"api.localhost")])
    access.record(request, 404, 0.0123, "req_abc", "not_found")
    (line,) = lines
    date, clock, level, name, message = line.split(" ", 4)
    assert time.strptime(f"{date} {clock.split(',')[0]}", "%Y-%m-%d %H:%M:%S")
    assert len(clock.split(",")[1]) == 3
    assert (level, name) == ("INFO", "edge_proxy.access")
    assert message == (
        "request method=GET host=api.localhost path=/v1/x status=404 duration_ms=12.3 "
        "request_id=req_abc reason=not_found"
    )
    assert access_lines(logs, 0) == []  # not through logging as well
