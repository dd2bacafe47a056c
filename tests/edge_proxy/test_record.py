import json
import logging
import time

import pytest

FIELDS = ("method", "host", "path", "route", "status", "duration_ms", "request_id", "reason")


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO, logger="edge_proxy")
    return caplog


def access_lines(caplog, count: int = 1) -> list[dict[str, object]]:
    """The access log lines' fields, once `count` are there: a line is written after the
    response."""
    deadline = time.monotonic() + 5
    while True:
        lines = [
            {"message": r.getMessage(), **{f: getattr(r, f, None) for f in FIELDS}}
            for r in caplog.records
            if r.name == "edge_proxy.access"
        ]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def test_one_line_per_request_without_the_query(edge, upstreams, logs):
    response = edge.get("/v1/charges?limit=3&secret=abc", headers={"host": "api.localhost:8080"})
    (line,) = access_lines(logs)
    assert line["message"] == "request"
    assert (line["method"], line["host"], line["path"]) == (
        "GET",
        "api.localhost:8080",
        "/v1/charges",
    )
    assert (line["route"], line["status"], line["reason"]) == ("router", 200, None)
    assert line["request_id"] == response.headers["x-request-id"]
    assert isinstance(line["duration_ms"], float)
    assert "limit" not in str(line) and "secret" not in str(line)


def test_a_refused_request_logs_its_reason_and_no_card(edge, upstreams, logs):
    pan = "5555555555554444"
    edge.get(f"/v1/customers/{pan}", headers={"cookie": f"memo={pan}"})
    edge.get(f"/v1/customers/x?{pan}", headers={"x-request-id": pan})
    edge.get("/v1/customers/x", headers={"host": f"{pan}.example"})
    lines = access_lines(logs, 3)
    assert (lines[0]["path"], lines[0]["status"]) == ("[redacted]", 400)
    assert lines[0]["reason"] == "pan_detected:path"
    assert lines[1]["reason"] == "pan_detected:query"
    assert (lines[2]["host"], lines[2]["reason"]) == ("[redacted]", "misdirected_request")
    assert pan not in logs.text and pan[:6] not in logs.text and pan[-4:] not in logs.text


def test_a_percent_encoded_card_in_the_path_is_redacted_too(edge, upstreams, logs):
    edge.get("/v1/x/%2534%2532%2534%2532" + "%2534%2532" * 6)
    assert access_lines(logs)[0]["path"] == "[redacted]"


def test_health_probes_are_not_logged_at_info(edge, upstreams, logs):
    edge.get("/healthz")
    edge.get("/v1/charges")
    (line,) = access_lines(logs, 2)
    assert line["path"] == "/v1/charges"


def test_with_a_sink_lines_skip_logging_and_look_like_its_lines(logs):
    from edge_proxy.detect import PanDetector
    from edge_proxy.flow import EdgeRequest
    from edge_proxy.record import AccessLog

    lines: list[str] = []
    access = AccessLog(PanDetector(), lines.append)
    request = EdgeRequest("GET", "/v1/x", b"/v1/x", headers=[(b"host", b"api.localhost")])
    access.record(request, 404, 0.0123, "req_abc", "not_found", route="router")
    (line,) = lines
    fields = json.loads(line)
    stamp = fields.pop("timestamp")
    assert time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S") and stamp.endswith("+00:00")
    assert len(stamp.split(".")[1]) == len("123+00:00")
    assert fields == {
        "level": "info",
        "service": "edge",
        "logger": "edge_proxy.access",
        "message": "request",
        "event": "request",
        "request_id": "req_abc",
        "method": "GET",
        "host": "api.localhost",
        "path": "/v1/x",
        "route": "router",
        "status": 404,
        "duration_ms": 12.3,
        "reason": "not_found",
    }
    assert access_lines(logs, 0) == []  # not through logging as well


def test_the_sinks_line_is_valid_json_whatever_the_values_hold(logs):
    from edge_proxy.detect import PanDetector
    from edge_proxy.flow import EdgeRequest
    from edge_proxy.record import AccessLog

    lines: list[str] = []
    path = '/v1/x"y\\z\n\u00e9\u2028'
    request = EdgeRequest("GET", path, path.encode(), headers=[(b"host", b'a"b')])
    AccessLog(PanDetector(), lines.append).record(request, 502, 1.0, "req_abcdefgh", None)
    fields = json.loads(lines[0])
    assert (fields["path"], fields["host"], fields["reason"]) == (path, 'a"b', None)
    assert (fields["status"], fields["duration_ms"], fields["route"]) == (502, 1000.0, "-")


def test_a_card_number_glued_to_letters_in_the_path_is_masked_though_it_passes(
    edge, upstreams, logs
):
    # The detector passes `ch4242…` (no card without separators or context around it);
    # the log masks any run of 13 digits, escaped or not.
    pan = "4242424242424242"
    edge.get(f"/v1/charges/ch{pan}")
    edge.get("/v1/charges/ch" + "".join(f"%3{d}" for d in pan) + "x")
    edge.get("/v1/charges/ch_123456789012")  # twelve digits: an id, kept
    first, second, third = access_lines(logs, 3)
    assert first["path"] == "/v1/charges/ch[redacted]" and first["status"] == 200
    assert second["path"] == "/v1/charges/ch[redacted]x"
    assert third["path"] == "/v1/charges/ch_123456789012"
    assert pan not in logs.text
