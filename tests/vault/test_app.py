"""The app's start: it refuses to serve on a stranded keyring or a broken audit chain."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from vault.app import create_app
from vault.audit_chain import AuditChainBroken
from vault.crypto.keyring import KeyringError


def test_a_vault_with_cards_does_not_start_without_its_keyring(sqlite_vault) -> None:
    sqlite_vault.token("4242424242424242")
    sqlite_vault.settings.keyring_file.unlink()
    with pytest.raises(KeyringError), TestClient(create_app(sqlite_vault.settings)):
        pass
    assert not sqlite_vault.settings.keyring_file.exists()


def test_a_vault_does_not_start_on_a_broken_audit_chain(sqlite_vault) -> None:
    sqlite_vault.token("4242424242424242")
    path = sqlite_vault.settings.audit_path
    path.write_text(path.read_text().replace('"created"', '"deleted"'))
    with pytest.raises(AuditChainBroken), TestClient(create_app(sqlite_vault.settings)):
        pass


def test_a_restarted_vault_still_opens_its_cards(sqlite_vault) -> None:
    token = sqlite_vault.token("4242424242424242")
    with TestClient(create_app(sqlite_vault.settings)) as client:
        body = sqlite_vault.charge_body(token)
        response = client.post(
            "/internal/v1/charges",
            json=body,
            headers={"Authorization": f"Bearer {sqlite_vault.test_credential}"},
        )
    assert response.json()["status"] == "succeeded"
