import pytest
from pydantic import ValidationError

from edge_proxy.config import Settings


def test_defaults():
    settings = Settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.api_hosts == ["api.localhost", "localhost", "127.0.0.1"]
    assert settings.js_hosts == ["js.localhost"]
    assert settings.vault_url == "http://127.0.0.1:8084"
    assert settings.router_url == "http://127.0.0.1:8081"
    assert settings.max_body_bytes == 1 << 20
    assert settings.upstream_timeout == 30


def test_environment_with_prefix(monkeypatch):
    monkeypatch.setenv("EDGE_PORT", "9090")
    monkeypatch.setenv("EDGE_API_HOSTS", "API.example.com:443, localhost")
    monkeypatch.setenv("EDGE_JS_HOSTS", '["js.example.com"]')
    monkeypatch.setenv("EDGE_VAULT_URL", "http://10.0.0.5:8084/")
    monkeypatch.setenv("EDGE_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("EDGE_UPSTREAM_TIMEOUT", "2.5")
    monkeypatch.setenv("EDGE_LOG_LEVEL", "debug")
    settings = Settings()
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
    ],
)
def test_bad_configuration_fails_loudly(kwargs):
    with pytest.raises(ValidationError):
        Settings(**kwargs)
