"""One JSON log schema across the services (servicekit.logs, vault.logs, edge_proxy.logs),
the request id of the request being served in every line, and the request line itself."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from edge_proxy.logs import JsonFormatter as EdgeFormatter
from servicekit.logs import REQUEST_ID, JsonFormatter, pass_request_id
from servicekit.metrics import HttpMetrics, Observe
from vault.logs import REQUEST_ID as VAULT_REQUEST_ID
from vault.logs import JsonFormatter as VaultFormatter

SCHEMA = {"timestamp", "level", "service", "logger", "message"}


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("t.logger", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize(
    "formatter", [JsonFormatter("router"), VaultFormatter(), EdgeFormatter()], ids=str
)
def test_every_service_writes_the_same_schema(formatter: logging.Formatter) -> None:
    line = json.loads(formatter.format(record("hello %s", "you", request_id="req_abcdefgh")))
    assert set(line) == SCHEMA | {"request_id"}
    assert (line["level"], line["logger"], line["message"]) == ("warning", "t.logger", "hello you")
    assert line["timestamp"].endswith("+00:00") and "T" in line["timestamp"]
    assert line["request_id"] == "req_abcdefgh"


def test_a_line_written_during_a_request_carries_its_id() -> None:
    token = REQUEST_ID.set("req_duringarequest")
    try:
        line = json.loads(JsonFormatter("api-test").format(record("x")))
    finally:
        REQUEST_ID.reset(token)
    assert (line["service"], line["request_id"]) == ("api-test", "req_duringarequest")
    assert "request_id" not in json.loads(JsonFormatter("api-test").format(record("x")))


def test_the_vaults_lines_mask_card_numbers_in_every_field() -> None:
    token = VAULT_REQUEST_ID.set("req_x")
    try:
        text = VaultFormatter().format(
            record("saw %s", "4242 4242 4242 4242", note="4000000000000002")
        )
    finally:
        VAULT_REQUEST_ID.reset(token)
    assert "4242" not in text and "4000000000000002" not in text
    assert json.loads(text)["message"] == "saw [redacted]"


def test_calls_made_during_a_request_name_it() -> None:
    token = REQUEST_ID.set("req_passedalongthecall")
    try:
        request = httpx.Request("GET", "http://fraud.internal/v1/assessments")
        pass_request_id(request)
    finally:
        REQUEST_ID.reset(token)
    assert request.headers["x-request-id"] == "req_passedalongthecall"


def app(metrics: HttpMetrics) -> Starlette:
    async def charge(request: Request) -> Response:
        logging.getLogger("t.handler").info("charging")
        return JSONResponse({"id": request.path_params["id"]}, status_code=201)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/charges/{id}", charge, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        middleware=[Middleware(Observe, metrics)],
    )


def test_one_request_line_with_the_route_template_and_the_edges_id(caplog) -> None:
    metrics = HttpMetrics()
    caplog.set_level(logging.DEBUG)
    with TestClient(app(metrics)) as client:
        client.post("/v1/charges/ch_secretish", headers={"x-request-id": "req_fromtheedge1"})
        client.get("/healthz")
        client.post("/v1/charges/x", headers={"x-request-id": "not valid!"})
    handler, request, probe, other = [
        r for r in caplog.records if r.name in ("t.handler", "strongroom.access")
    ][:4]
    assert handler.getMessage() == "charging"
    assert (request.route, request.status, request.method) == ("/v1/charges/{id}", 201, "POST")
    assert "ch_secretish" not in json.dumps(request.__dict__, default=str)
    assert (probe.route, probe.levelno) == ("/healthz", logging.DEBUG)
    formatted = [json.loads(JsonFormatter("api").format(r)) for r in (request,)]
    assert formatted[0]["event"] == "request" and formatted[0]["duration_ms"] >= 0
    assert other.levelno == logging.INFO
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in metrics.registry.collect()
        for s in family.samples
    }
    key = (
        "http_requests_total",
        (("method", "POST"), ("route", "/v1/charges/{id}"), ("status", "201")),
    )
    assert samples[key] == 2


def test_the_request_id_is_the_edges_or_a_fresh_one(caplog) -> None:
    seen: list[str | None] = []

    async def endpoint(request: Request) -> Response:
        seen.append(REQUEST_ID.get())
        return Response(status_code=204)

    starlette = Starlette(
        routes=[Route("/x", endpoint)], middleware=[Middleware(Observe, HttpMetrics())]
    )
    with TestClient(starlette) as client:
        client.get("/x", headers={"x-request-id": "req_fromtheedge2"})
        client.get("/x", headers={"x-request-id": "bad id with spaces"})
        client.get("/x")
    assert seen[0] == "req_fromtheedge2"
    assert seen[1] is not None and seen[1].startswith("req_") and seen[1] != seen[2]
    assert REQUEST_ID.get() is None


def test_the_fast_request_line_is_what_the_formatter_would_write() -> None:
    import io

    from servicekit.logs import RequestLines

    stream = io.StringIO()
    fields = {"event": "request", "method": "POST", "route": '/v1/"x"', "status": 201}
    RequestLines("api-test", logging.StreamHandler(stream)).write(
        logging.INFO, "req_fastpathline", {**fields, "duration_ms": 12.5}
    )
    fast = json.loads(stream.getvalue())
    token = REQUEST_ID.set("req_fastpathline")
    try:
        made = record("request", **fields, duration_ms=12.5)
        made.levelno, made.levelname, made.name = logging.INFO, "INFO", "strongroom.access"
        slow = json.loads(JsonFormatter("api-test").format(made))
    finally:
        REQUEST_ID.reset(token)
    assert fast.pop("timestamp") and slow.pop("timestamp")
    assert fast == slow
