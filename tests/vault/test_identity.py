"""A vault's identity: commands name their vault and environment; custody never goes down."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.vault.conftest import signed_command
from vault.app import create_app
from vault.crypto.keyring import KeyringError, LocalKeyring


def test_a_command_run_on_one_vault_is_refused_by_another(sqlite_vault, tmp_path: Path) -> None:
    body = signed_command(
        sqlite_vault.audience(), command={"action": "breaker", "scope": "*", "open": True}
    )
    assert sqlite_vault.client.post("/admin/v1/commands", json=body).status_code == 200
    other = sqlite_vault.settings.model_copy(
        update={"data_dir": tmp_path / "other", "database_url": f"sqlite:///{tmp_path}/o.db"}
    )
    with TestClient(create_app(other)) as client:  # its own database, its own id
        assert client.get("/healthz").json()["vault_id"] != sqlite_vault.audience()["vault"]
        replay = client.post("/admin/v1/commands", json=body)
    assert replay.status_code == 403
    assert "another vault" in replay.json()["error"]["message"]


def test_a_command_for_another_environment_is_refused(sqlite_vault) -> None:
    audience = {**sqlite_vault.audience(), "environment": "production"}
    body = signed_command(audience, command={"action": "rotate_key"})
    response = sqlite_vault.client.post("/admin/v1/commands", json=body)
    assert response.status_code == 403
    assert "another environment" in response.json()["error"]["message"]


def test_the_vault_and_its_custody_are_recorded_in_the_database_and_the_audit_log(
    sqlite_vault,
) -> None:
    health = sqlite_vault.client.get("/healthz").json()
    [init] = [e for e in sqlite_vault.audit_entries() if e["action"] == "init"]
    assert init["outcome"] == f"{health['vault_id']}:development:custody:local"


def test_a_keyring_put_in_place_of_the_vaults_own_is_refused_running_and_at_start(
    sqlite_vault, tmp_path: Path
) -> None:
    token = sqlite_vault.token("4242424242424242")
    keyring = sqlite_vault.settings.keyring_file
    own = keyring.read_bytes()
    # An attacker's keyring (a fresh one, whose keys they know) in place of the vault's.
    LocalKeyring(tmp_path / "theirs.json")
    shutil.copy(tmp_path / "theirs.json", keyring)
    keyring.chmod(0o600)
    time.sleep(0.2)  # the running vault rereads a changed keyring within 0.1 s
    with pytest.raises(KeyringError):  # refused, never used to wrap a card
        sqlite_vault.tokenise("4242424242424242")
    with (
        pytest.raises(KeyringError, match="not this vault's keyring"),
        TestClient(create_app(sqlite_vault.settings)),
    ):
        pass
    keyring.write_bytes(own)
    with TestClient(create_app(sqlite_vault.settings)) as client:
        sqlite_vault.client = client
        assert sqlite_vault.metadata(token).status_code == 200


def test_custody_by_transit_is_never_downgraded_to_a_local_keyring(
    sqlite_vault, openbao: tuple[str, str], tmp_path: Path
) -> None:
    url, token = openbao
    transit = sqlite_vault.settings.model_copy(
        update={
            "data_dir": tmp_path / "t",
            "database_url": f"sqlite:///{tmp_path}/t.db",
            "key_provider": "transit",
            "transit_url": url,
            "transit_token": SecretStr(token),
            "transit_key": "downgrade-test",
        }
    )
    with TestClient(create_app(transit)) as client:
        assert client.get("/healthz").status_code == 200
    local = transit.model_copy(update={"key_provider": "local"})
    with pytest.raises(KeyringError, match="held by transit"), TestClient(create_app(local)):
        pass
