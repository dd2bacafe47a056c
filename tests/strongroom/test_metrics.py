"""The internal /metrics listener of the app-zone services (servicekit.metrics)."""

from __future__ import annotations

import httpx

from servicekit.metrics import HttpMetrics, metrics_listener


def test_the_listener_serves_the_registry_and_stops_with_its_block():
    metrics = HttpMetrics()
    metrics.observe("/v1/charges", "POST", 503, 0.2)
    with metrics_listener(metrics.registry, "127.0.0.1", 0) as port:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'http_requests_total{method="POST",route="/v1/charges",status="503"} 1.0' in text
    assert 'http_server_errors_total{method="POST",route="/v1/charges"} 1.0' in text
    assert 'http_request_duration_seconds_count{method="POST",route="/v1/charges"} 1.0' in text
    try:
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        raise AssertionError("still listening")
    except httpx.TransportError:
        pass


def test_no_port_no_listener():
    with metrics_listener(HttpMetrics().registry, "127.0.0.1", None) as port:
        assert port is None


def test_a_success_is_no_server_error():
    metrics = HttpMetrics()
    metrics.observe("/healthz", "GET", 200, 0.001)
    names = {s.name for family in metrics.registry.collect() for s in family.samples}
    assert "http_requests_total" in names and "http_server_errors_total" not in names
