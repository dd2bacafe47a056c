import pytest
from pydantic import ValidationError

from edge_proxy.app import limits
from edge_proxy.config import Settings


def test_defaults():
    settings = Settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.api_hosts == ["api.localhost", "localhost", "127.0.0.1"]
    assert settings.js_hosts == ["js.localhost"]
    assert settings.vault_url == "http://127.0.0.1:8084"
    assert settings.router_url == "http://127.0.0.1:8081"
    assert settings.max_body_bytes == 1 << 20
    assert settings.upstream_timeout == 45  # past the router's queue and timeout
    assert settings.max_inspect_bytes == 4 << 20 and settings.max_inspect_seconds == 2
    assert settings.max_response_bytes == 8 << 20 and settings.max_head_bytes == 32 * 1024
    assert (settings.read_timeout, settings.keepalive_timeout) == (30, 15)
    assert str(settings.js_dir) == "js-sdk/dist"
    assert settings.api_origins == [
        "http://api.localhost:8080",
        "http://localhost:8080",
        "http://127.0.0.1:8080",
    ]
    assert settings.metrics_port is None


def test_environment_with_prefix(monkeypatch):
    monkeypatch.setenv("EDGE_PORT", "9090")
    monkeypatch.setenv("EDGE_API_HOSTS", "API.example.com:443, localhost")
    monkeypatch.setenv("EDGE_JS_HOSTS", '["js.example.com"]')
    monkeypatch.setenv("EDGE_VAULT_URL", "http://10.0.0.5:8084/")
    monkeypatch.setenv("EDGE_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("EDGE_UPSTREAM_TIMEOUT", "2.5")
    monkeypatch.setenv("EDGE_LOG_LEVEL", "debug")
    monkeypatch.setenv("EDGE_JS_DIR", "/srv/js")
    monkeypatch.setenv("EDGE_API_ORIGINS", "https://api.example.com")
    monkeypatch.setenv("EDGE_METRICS_PORT", "9180")
    settings = Settings()
    assert str(settings.js_dir) == "/srv/js"
    assert settings.api_origins == ["https://api.example.com"]
    assert settings.metrics_port == 9180
    assert settings.port == 9090
    assert settings.api_hosts == ["api.example.com", "localhost"]
    assert settings.js_hosts == ["js.example.com"]
    assert settings.vault_url == "http://10.0.0.5:8084"
    assert (settings.max_body_bytes, settings.upstream_timeout) == (2048, 2.5)
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_hosts": ["a.test"], "js_hosts": ["A.test:443"]},
        {"api_hosts": []},
        {"vault_url": "ftp://vault"},
        {"router_url": "http://"},
        {"router_url": "http://router?x=1"},
        {"max_body_bytes": 0},
        {"upstream_timeout": 0},
        {"port": 70000},
        {"log_level": "chatty"},
        {"api_origins": ["https://api.example.com/path"]},
        {"api_origins": ["api.example.com"]},
        {"max_head_bytes": 10},
        {"max_inspect_seconds": 0},
    ],
)
def test_bad_configuration_fails_loudly(kwargs):
    with pytest.raises(ValidationError):
        Settings(**kwargs)


def test_a_clients_buffer_share_and_the_shipment_words(monkeypatch):
    assert Settings().max_client_buffered_share == 0.25
    assert limits(Settings(max_buffered_bytes=8 << 20)).max_client_buffered_bytes == 2 << 20
    monkeypatch.setenv("EDGE_MAX_CLIENT_BUFFERED_SHARE", "1")
    monkeypatch.setenv("EDGE_CONTEXT_OTHER_WORDS", "Tracking, gtin")
    settings = Settings()
    assert limits(settings).max_client_buffered_bytes == settings.max_buffered_bytes
    assert settings.rules().other_words == frozenset({"tracking", "gtin"})
    for share in (0, 1.5):
        with pytest.raises(ValidationError):
            Settings(max_client_buffered_share=share)
