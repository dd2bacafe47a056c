import json
import os
from pathlib import Path

import pytest

from edge_proxy.config import Settings as EdgeSettings
from strongroom.devkeys import load_or_create
from strongroom.stack import Options, services, settings_kwargs
from vault.config import Settings as VaultSettings


def test_secrets_are_generated_once_and_private(tmp_path: Path) -> None:
    first = load_or_create(tmp_path)
    assert os.stat(tmp_path / "secrets.json").st_mode & 0o777 == 0o600
    assert load_or_create(tmp_path) == first
    assert load_or_create(tmp_path / "other") != first


def test_a_secrets_file_others_can_read_is_refused(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    os.chmod(tmp_path / "secrets.json", 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create(tmp_path)


def test_secrets_made_before_the_edges_credential_get_one_and_keep_the_rest(
    tmp_path: Path,
) -> None:
    first = load_or_create(tmp_path)
    path = tmp_path / "secrets.json"
    older = json.loads(path.read_text())
    del older["edge_vault_credential"]
    path.write_text(json.dumps(older))
    upgraded = load_or_create(tmp_path)
    assert len(upgraded.edge_vault_credential) >= 32
    assert upgraded.edge_vault_credential != first.edge_vault_credential
    assert upgraded.model_dump(exclude={"edge_vault_credential"}) == older
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_or_create(tmp_path) == upgraded  # kept: the next start uses the same
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]


def test_the_edge_and_the_vault_share_a_credential_no_api_stack_has(tmp_path: Path) -> None:
    keys = load_or_create(tmp_path)
    env = {s.name: s.env for s in services(Options(data_dir=tmp_path), keys)}
    credential = env["edge"]["EDGE_VAULT_CREDENTIAL"]
    assert credential == env["vault"]["VAULT_EDGE_CREDENTIAL"] == keys.edge_vault_credential
    assert env["vault"]["VAULT_TRUSTED_PROXIES"] == "127.0.0.1"
    for name in ("api-test", "api-live", "router", "fraud", "card_network"):
        assert credential not in env[name].values(), name
    vault = VaultSettings.model_validate(settings_kwargs(env["vault"], "VAULT_"))
    edge = EdgeSettings.model_validate(settings_kwargs(env["edge"], "EDGE_"))
    assert vault.edge_credential is not None and edge.vault_credential is not None
    assert vault.edge_credential.get_secret_value() == edge.vault_credential.get_secret_value()
