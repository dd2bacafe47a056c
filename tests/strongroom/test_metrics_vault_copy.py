"""The vault's request middleware (vault.observe) is a copy of servicekit.metrics: the same
requests through either give the same http_* series, the same request line and the same
request id, so a dashboard or a log query reads every service alike."""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import servicekit.logs
import servicekit.metrics as shared
import vault.logs
import vault.observe as vault_copy

COPIES = {"servicekit": (shared, servicekit.logs), "vault": (vault_copy, vault.logs)}
WELL_FORMED_ID = "req_0123456789abcdef"


def _run(copy: tuple[ModuleType, ModuleType], caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    metrics_module, logs_module = copy
    seen_ids: list[str | None] = []

    async def thing(request: Request) -> PlainTextResponse:
        seen_ids.append(logs_module.REQUEST_ID.get())
        return PlainTextResponse("ok", status_code=int(request.query_params.get("s", "200")))

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("raised before answering")

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/v1/things/{id}", thing, methods=["GET", "POST"]),
            Route("/boom", boom),
            Route("/healthz", health),
        ]
    )
    metrics = metrics_module.HttpMetrics()
    wrapped = metrics_module.Observe(app, metrics)
    caplog.clear()
    with caplog.at_level(logging.DEBUG), TestClient(wrapped, raise_server_exceptions=False) as c:
        c.get("/v1/things/a", headers={"x-request-id": WELL_FORMED_ID})
        c.post("/v1/things/b?s=402", headers={"x-request-id": "bad id"})
        c.get("/v1/things/c?s=503")
        c.get("/boom")
        c.get("/nowhere")
        c.get("/healthz")
    samples = sorted(
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in metrics.registry.collect()
        for s in family.samples
        if not s.name.endswith(("_sum", "_bucket", "_created"))  # timings differ
    )
    lines = [
        (r.levelname, r.getMessage(), {k: getattr(r, k) for k in ("method", "route", "status")})
        for r in caplog.records
        if r.getMessage() == "request"
    ]
    return {"samples": samples, "lines": lines, "ids": seen_ids}


@pytest.fixture
def both(caplog: pytest.LogCaptureFixture) -> dict[str, dict[str, Any]]:
    return {name: _run(copy, caplog) for name, copy in COPIES.items()}


def test_both_publish_the_same_series_with_the_same_counts(both):
    assert both["vault"]["samples"] == both["servicekit"]["samples"]
    counts = {(n, labels): v for n, labels, v in both["vault"]["samples"]}
    route = ("route", "/v1/things/{id}")
    assert counts[("http_requests_total", (("method", "POST"), route, ("status", "402")))] == 1
    assert counts[("http_server_errors_total", (("method", "GET"), ("route", "/boom")))] == 1
    assert counts[("http_server_errors_total", (("method", "GET"), route))] == 1  # the 503
    assert (
        counts[
            ("http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))
        ]
        == 1
    )
    assert counts[("http_request_duration_seconds_count", (("method", "GET"), route))] == 2


def test_both_write_the_same_request_lines_probes_at_debug(both):
    assert both["vault"]["lines"] == both["servicekit"]["lines"]
    levels = {fields["route"]: level for level, _, fields in both["vault"]["lines"]}
    assert levels["/healthz"] == "DEBUG" and levels["/v1/things/{id}"] == "INFO"
    assert ("INFO", "request", {"method": "GET", "route": "/boom", "status": 500}) in (
        both["vault"]["lines"]
    )


def test_both_keep_a_well_formed_request_id_and_replace_any_other(both):
    for name in COPIES:
        ids = both[name]["ids"]
        assert ids[0] == WELL_FORMED_ID
        assert ids[1] is not None and ids[1].startswith("req_") and ids[1] != "bad id"
        assert ids[2] is not None and ids[2].startswith("req_")
