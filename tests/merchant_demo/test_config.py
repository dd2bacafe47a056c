"""The shop's settings refuse what would make it unsafe or unusable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.merchant_demo.conftest import PK, SK, settings


def test_defaults_are_the_local_stacks():
    s = settings()
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert (s.edge_url, s.api_url, s.js_url) == (
        "http://127.0.0.1:8080",
        "http://api.localhost:8080",
        "http://js.localhost:8080",
    )


def test_the_secret_key_never_prints():
    assert SK not in repr(settings())
    assert SK not in str(settings().model_dump())


@pytest.mark.parametrize(
    "overrides",
    [
        {"pk_test": SK},
        {"pk_test": "pk_live_" + "x" * 32},
        {"sk_test": PK},
        {"sk_test": "sk_live_" + "x" * 32},
        {"js_url": "ftp://js.localhost"},
        {"api_url": "http://api.localhost:8080/v1"},
        {"port": 0},
    ],
)
def test_wrong_keys_or_urls_are_refused_at_start(overrides):
    with pytest.raises(ValidationError):
        settings(**overrides)


def test_a_trailing_slash_is_dropped():
    assert settings(js_url="http://js.example/").js_url == "http://js.example"
