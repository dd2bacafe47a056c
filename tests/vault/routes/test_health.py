"""GET /healthz and the error envelope for unknown paths and methods."""

from __future__ import annotations


def test_healthz(sqlite_vault) -> None:
    response = sqlite_vault.client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["service"]) == ("ok", "vault")
    assert body["vault_id"].startswith("vlt_") and body["environment"] == "development"


def test_unknown_path_and_wrong_method_use_the_error_envelope(sqlite_vault) -> None:
    missing = sqlite_vault.client.get("/v1/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"
    wrong = sqlite_vault.client.get("/v1/cards")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
