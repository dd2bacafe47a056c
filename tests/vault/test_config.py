"""Settings: every secret required and checked; paths derived from the data directory."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from vault.config import Settings

KEY32 = base64.b64encode(b"k" * 32).decode()
REQUIRED: dict[str, Any] = {
    "test_credential": "t" * 20,
    "live_credential": "l" * 20,
    "fraud_public_key": KEY32,
    "fingerprint_key": KEY32,
    "key_hash_secret": "h" * 20,
    "network_credential": "n" * 20,
}


@pytest.fixture(autouse=True)
def _no_vault_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("VAULT_"):
            monkeypatch.delenv(name)


def test_defaults_put_everything_under_the_data_dir() -> None:
    settings = Settings(**REQUIRED)
    assert (settings.host, settings.port) == ("127.0.0.1", 8084)
    assert settings.db_url == "sqlite:///var/vault/vault.db"
    assert settings.keyring_file == Path("var/vault/keyring.json")
    assert settings.audit_path == Path("var/vault/audit.log")
    assert settings.network_url == "http://127.0.0.1:8086"


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_secret_stops_the_start(missing: str) -> None:
    values = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    assert missing in str(caught.value)


def test_settings_come_from_vault_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(f"VAULT_{name.upper()}", value)
    monkeypatch.setenv("VAULT_PORT", "9999")
    monkeypatch.setenv("VAULT_DATABASE_URL", "postgresql+psycopg://x/y")
    settings = Settings()
    assert settings.port == 9999 and settings.db_url == "postgresql+psycopg://x/y"


@pytest.mark.parametrize(
    "change",
    [
        {"fingerprint_key": base64.b64encode(b"short").decode()},
        {"fraud_public_key": "not base64!"},
        {"live_credential": "t" * 20},
        {"test_credential": "short"},
    ],
)
def test_weak_or_malformed_secrets_stop_the_start(change: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(**{**REQUIRED, **change})


def test_secrets_do_not_print() -> None:
    settings = Settings(**REQUIRED)
    assert "t" * 20 not in repr(settings) and "h" * 20 not in str(settings)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:8200", False),
        ("http://localhost:8200", False),
        ("https://transit.pci.strongroom.internal:8200", False),
        ("http://transit.pci.strongroom.internal:8200", True),  # data keys in the clear
        ("http://10.0.0.5:8200", True),
        ("ftp://127.0.0.1:8200", True),
        ("transit:8200", True),
    ],
)
def test_transit_is_reached_over_tls_off_this_host(url: str, refused: bool) -> None:
    given = {**REQUIRED, "key_provider": "transit", "transit_token": "t", "transit_url": url}
    if refused:
        with pytest.raises(ValidationError, match="transit_url"):
            Settings(**given)
    else:
        assert Settings(**given).transit_url == url
