import logging
import socket
import time

from edge_proxy.app import SERVICE_NAME, create_app
from edge_proxy.config import Settings
from edge_proxy.detect import PanDetector
from edge_proxy.proxy import Edge
from edge_proxy.routing import HostRoutes
from tests.edge_proxy.conftest import Upstreams, running_edge


def test_create_app_builds_without_serving():
    app = create_app(Settings())
    assert isinstance(app, Edge)
    assert SERVICE_NAME == "edge_proxy"


def test_a_filter_that_raises_blocks_the_request(monkeypatch, caplog):
    def broken(self, body, content_type):
        raise RuntimeError("4242424242424242")

    monkeypatch.setattr(PanDetector, "scan_app_body", broken)
    upstreams = Upstreams()
    with caplog.at_level(logging.ERROR), running_edge(upstreams) as edge:
        response = edge.post("/v1/charges", json={"amount": 1})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert upstreams.seen == []
    assert "RuntimeError" in caplog.text and "4242424242424242" not in caplog.text


def test_the_upstream_client_is_shared_and_closed_at_shutdown():
    upstreams = Upstreams()
    with running_edge(upstreams) as edge:
        for _ in range(3):
            assert edge.get("/v1/charges").status_code == 200
    assert len(upstreams.seen) == 3


def test_method_on_healthz_other_than_get_is_forwarded(edge, upstreams):
    assert edge.post("/healthz", json={}).status_code == 200
    assert upstreams.only().url.path == "/healthz"


def test_a_body_the_client_abandons_is_not_forwarded(upstreams):
    with running_edge(upstreams) as edge:
        url = edge.base_url
        with socket.create_connection((url.host, url.port)) as conn:
            conn.sendall(
                b"POST /v1/charges HTTP/1.1\r\nHost: api.localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
        time.sleep(0.2)
        assert edge.get("/healthz").status_code == 200
    assert upstreams.seen == []


def test_an_unexpected_error_is_an_enveloped_500_and_nothing_is_forwarded(monkeypatch, caplog):
    def broken(self, host, path):
        raise KeyError("4242424242424242")

    monkeypatch.setattr(HostRoutes, "destination", broken)
    upstreams = Upstreams()
    with caplog.at_level(logging.ERROR), running_edge(upstreams) as edge:
        response = edge.get("/v1/charges")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert upstreams.seen == []
    assert "KeyError" in caplog.text
    assert "4242424242424242" not in caplog.text  # no traceback from the server either
