"""Reading credentials from the Authorization header."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from vault.audit import AuditLog, Refusals
from vault.auth import ServiceCredentials, merchant_key_from
from vault.errors import AuthenticationFailed


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer pk_test_abc", "pk_test_abc"),
        ("bearer   pk_test_abc ", "pk_test_abc"),
        (basic("pk_test_abc"), "pk_test_abc"),
        (basic("pk_test_abc", "ignored"), "pk_test_abc"),
        ("Bearer", None),
        (basic(""), None),
        ("Basic %%%", None),
        ("Digest pk_test_abc", None),
        (None, None),
        ("", None),
    ],
)
def test_the_merchant_key_is_the_bearer_token_or_the_basic_user_name(
    header: str | None, key: str | None
) -> None:
    assert merchant_key_from(header) == key


def test_service_credentials_map_to_their_mode(tmp_path: Path) -> None:
    refusals = Refusals(AuditLog(tmp_path / "audit.log"))
    credentials = ServiceCredentials("test-credential-000", "live-credential-000", refusals)
    assert credentials.livemode("Bearer test-credential-000") is False
    assert credentials.livemode("Bearer live-credential-000") is True
    for header in (
        None,
        "",
        "Bearer ",
        "Bearer test-credential-00",
        "Basic test-credential-000",
        "test-credential-000",
    ):
        with pytest.raises(AuthenticationFailed):
            credentials.livemode(header)
    outcomes = [json.loads(line)["outcome"] for line in (tmp_path / "audit.log").open()]
    assert outcomes == ["refused:invalid_credential"] * 6  # audited, never what was presented


def test_refused_credentials_are_audited_at_most_so_often_and_the_rest_counted(
    tmp_path: Path,
) -> None:
    refusals = Refusals(AuditLog(tmp_path / "audit.log"), limit=3)
    credentials = ServiceCredentials("test-credential-000", "live-credential-000", refusals)
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            credentials.livemode("Bearer guess-000000000000")
    lines = (tmp_path / "audit.log").read_text()
    assert len(lines.splitlines()) == 3 and "guess" not in lines


def test_a_refused_merchant_key_is_audited_without_the_key(sqlite_vault) -> None:
    headers = {"Authorization": "Bearer pk_test_someoneElsesKey000000"}
    response = sqlite_vault.client.post("/v1/cards", json={}, headers=headers)
    assert response.status_code == 401
    last = sqlite_vault.audit_entries()[-1]
    assert (last["actor"], last["action"], last["outcome"]) == (
        "merchant:unknown",
        "authenticate",
        "refused:invalid_api_key",
    )
    assert "someoneElses" not in sqlite_vault.settings.audit_path.read_text()
