"""`strongroom up --metrics`, as a stack of real processes: every process serves /metrics on
an internal port, a checkout moves the business metrics, and the edge's request id is in
the JSON log lines of the edge, the router, the API, fraud and the vault for that request."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from strongroom import testcards
from strongroom.stack import PORT_OF
from strongroom.supervisor import free_ports
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

SCHEMA = {"timestamp", "level", "service", "logger", "message"}
REQUEST_ID = "req_observabilitycheckoutabcdefgh"  # letters only: never read as a card


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ports = dict(zip(PORT_OF, free_ports(len(PORT_OF)), strict=True))
    yield from start_stack(
        tmp_path_factory.mktemp("observed"),
        metrics_ports=ports,
        router_test_rate_per_key=0,
        router_test_rate=0,
    )


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(stack: Stack, service: str) -> Samples:
    assert stack.opts.metrics_ports is not None
    port = stack.opts.metrics_ports[service]
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200, service
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def card(number: str) -> dict[str, Any]:
    return {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}


def checkout(stack: Stack, pk: str, sk: str, number: str, request_id: str | None = None) -> Any:
    with stack.client(pk) as browser, stack.client(sk) as server:
        token = browser.post("/v1/cards", json=card(number))
        assert token.status_code == 201, token.text
        headers = {"x-request-id": request_id} if request_id else {}
        body = {"card": token.json()["id"], "amount": 2500, "currency": "eur"}
        charge = server.post("/v1/charges", json=body, headers=headers)
        assert charge.status_code in (201, 402), charge.text
        return charge


def log_lines(stack: Stack, service: str) -> list[dict[str, Any]]:
    path: Path = stack.opts.data_dir / "logs" / f"{service}.log"
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is JSON: one schema
    for line in parsed:
        assert set(line) >= SCHEMA, (service, line)
        assert line["service"] == ("edge" if service == "edge" else service)
    return parsed


def lines_with(stack: Stack, service: str, request_id: str) -> list[dict[str, Any]]:
    """The lines of `service` for the request; the edge writes its log once a second."""
    deadline = time.monotonic() + 10
    while True:
        found = [line for line in log_lines(stack, service) if line.get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_every_process_serves_metrics_and_a_checkout_moves_the_business_metrics(
    observed: Stack,
) -> None:
    keys = observed.keys
    before = {name: scrape(observed, name) for name in PORT_OF}
    checkout(observed, keys.pk_test, keys.sk_test, testcards.SUCCEEDS)
    checkout(observed, keys.pk_test, keys.sk_test, testcards.PENDING_REVIEW)
    checkout(observed, keys.pk_live, keys.sk_live, testcards.generated_card())
    after = {name: scrape(observed, name) for name in PORT_OF}

    def moved(service: str, name: str, **labels: str) -> float:
        return value(after[service], name, **labels) - value(before[service], name, **labels)

    # RED metrics on every process, by route template.
    assert moved("edge", "edge_requests_total", destination="router") >= 3
    assert moved("router", "http_requests_total", route="/{path:path}", method="POST") >= 3
    assert moved("api-test", "http_requests_total", route="/v1/charges", method="POST") == 2
    assert moved("fraud", "http_requests_total", route="/v1/assessments", status="200") >= 2
    assert moved("vault", "http_requests_total", route="/v1/cards", status="201") == 3
    assert moved("vault", "http_request_duration_seconds_count", route="/internal/v1/charges") >= 2
    assert moved("card_network", "http_requests_total", route="/v1/authorizations") >= 1
    # Business metrics.
    assert moved("api-test", "api_charges", mode="test", status="succeeded") == 1
    assert moved("api-live", "api_charges", mode="live", status="succeeded") == 1
    assert moved("api-test", "api_reviews_open", mode="test") == 1
    assert moved("fraud", "fraud_decisions_total", mode="test", decision="allow") == 1
    assert moved("fraud", "fraud_decisions_total", mode="test", decision="review") == 1
    assert moved("vault", "vault_audit_fsync_seconds_count") >= 3
    assert moved("vault", "vault_key_versions_in_use", version="1") == 3
    assert value(after["vault"], "vault_sealed") == 0
    used = value(after["vault"], "vault_spend_cap_used_ratio", scope="global", window="total")
    assert 0 < used < 1
    for name in ("api_webhook_backlog", "api_webhook_dead_letters_total"):
        assert (name, frozenset({("mode", "test")})) in after["api-test"]
    assert ("router_queue_depth", frozenset({("stack", "live")})) in after["router"]


def test_one_request_id_is_in_the_log_of_every_process_it_crossed(observed: Stack) -> None:
    keys = observed.keys
    charge = checkout(observed, keys.pk_test, keys.sk_test, testcards.SUCCEEDS, REQUEST_ID)
    assert charge.headers["x-request-id"] == REQUEST_ID
    for service in ("edge", "router", "api-test", "fraud", "vault"):
        found = lines_with(observed, service, REQUEST_ID)
        assert found, f"{service} logged nothing for {REQUEST_ID}"
        request = [line for line in found if line.get("event") == "request"]
        assert request, service
        assert {"route", "status", "duration_ms"} <= set(request[0]), service
    (api,) = [
        line
        for line in lines_with(observed, "api-test", REQUEST_ID)
        if line.get("event") == "request"
    ]
    assert (api["method"], api["route"], api["status"]) == ("POST", "/v1/charges", 201)


def test_health_probes_are_not_logged_at_info(observed: Stack) -> None:
    for service in ("edge", "router", "api-test", "api-live", "fraud", "vault", "card_network"):
        probes = [
            line
            for line in log_lines(observed, service)
            if line.get("route") in ("/healthz", "health") and line["level"] == "info"
        ]
        assert probes == [], service
