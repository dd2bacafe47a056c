"""NAME_FILE settings (servicekit.secret_files, and the vault's copy of it): a mounted
secret file sets its setting in every service; ambiguity or an unreadable file stops it."""

from __future__ import annotations

import base64
import importlib
import inspect
import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

import servicekit.secret_files as shared
import vault.secret_files as vault_copy
from servicekit.secret_files import FileSettings, SecretFileError


def test_the_vaults_copy_is_the_shared_module_below_its_docstring():
    def body(module: object) -> str:
        source = inspect.getsource(module)  # type: ignore[arg-type]
        return source[source.index('"""', 3) + 3 :]

    assert body(vault_copy) == body(shared)


@pytest.fixture(params=[shared, vault_copy], ids=["strongroom", "vault"])
def settings_class(request):
    module = request.param

    class Demo(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="DEMO_")
        credential: SecretStr
        database_url: str | None = None
        tls_cert_file: Path | None = None

        @classmethod
        def settings_customise_sources(
            cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
        ):
            files = module.SecretFiles(settings_cls)
            return (init_settings, env_settings, files, dotenv_settings, file_secret_settings)

    return Demo


def secret(tmp_path: Path, text: str) -> str:
    path = tmp_path / "secret"
    path.write_text(text)
    return str(path)


def test_a_file_sets_its_setting_without_its_trailing_newline(
    settings_class, tmp_path, monkeypatch
):
    monkeypatch.setenv("DEMO_CREDENTIAL_FILE", secret(tmp_path, "s3cret-value-0123\n"))
    settings = settings_class()
    assert settings.credential.get_secret_value() == "s3cret-value-0123"


def test_the_variable_itself_and_its_file_together_are_refused(
    settings_class, tmp_path, monkeypatch
):
    monkeypatch.setenv("DEMO_CREDENTIAL", "from-the-environment")
    monkeypatch.setenv("DEMO_CREDENTIAL_FILE", secret(tmp_path, "from-a-file"))
    with pytest.raises(Exception, match="both DEMO_CREDENTIAL and DEMO_CREDENTIAL_FILE") as caught:
        settings_class()
    assert "from-a-file" not in str(caught.value) and "from-the-environment" not in str(
        caught.value
    )


def test_an_unreadable_file_is_refused_naming_the_variable(settings_class, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_CREDENTIAL_FILE", str(tmp_path / "absent"))
    with pytest.raises(Exception, match="DEMO_CREDENTIAL_FILE: cannot read"):
        settings_class()


def test_keyword_arguments_win_over_files(settings_class, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_CREDENTIAL_FILE", secret(tmp_path, "from-a-file"))
    assert settings_class(credential="given").credential.get_secret_value() == "given"


def test_a_setting_that_names_a_file_keeps_its_meaning(settings_class, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_CREDENTIAL", "c" * 16)
    monkeypatch.setenv("DEMO_TLS_CERT_FILE", "/etc/cert.pem")
    assert settings_class().tls_cert_file == Path("/etc/cert.pem")


def test_the_shared_base_class_reads_files():
    assert issubclass(importlib.import_module("api.config").Settings, FileSettings)
    assert issubclass(SecretFileError, Exception)


SECRETS = {
    "router": {},
    "card_network": {"NETWORK_CREDENTIAL": "n" * 16},
    "fraud": {
        "FRAUD_TEST_CREDENTIAL": "t" * 16,
        "FRAUD_LIVE_CREDENTIAL": "l" * 16,
        "FRAUD_SIGNING_KEY": base64.b64encode(b"k" * 32).decode(),
    },
    "api": {
        "API_MODE": "test",
        "API_KEY_HASH_SECRET": "h" * 16,
        "API_VAULT_CREDENTIAL": "v" * 16,
        "API_FRAUD_CREDENTIAL": "f" * 16,
    },
    "vault": {
        "VAULT_TEST_CREDENTIAL": "t" * 16,
        "VAULT_LIVE_CREDENTIAL": "l" * 16,
        "VAULT_FRAUD_PUBLIC_KEY": base64.b64encode(b"p" * 32).decode(),
        "VAULT_FINGERPRINT_KEY": base64.b64encode(b"f" * 32).decode(),
        "VAULT_KEY_HASH_SECRET": "h" * 16,
        "VAULT_NETWORK_CREDENTIAL": "n" * 16,
    },
}
# One secret setting of each service, given by file.
BY_FILE = {
    "router": ("ROUTER_TEST_URL", "test_url", "https://api-test.internal:8082"),
    "card_network": ("NETWORK_CREDENTIAL", "credential", "network-secret-0123"),
    "fraud": ("FRAUD_SIGNING_KEY", "signing_key", base64.b64encode(b"s" * 32).decode()),
    "api": ("API_DATABASE_URL", "database_url", "postgresql://u:pw@db/api"),
    "vault": ("VAULT_LIVE_CREDENTIAL", "live_credential", "live-credential-from-file"),
}


@pytest.mark.parametrize("package", sorted(BY_FILE))
def test_every_service_reads_a_secret_from_a_mounted_file(package, tmp_path, monkeypatch):
    for key in [
        k
        for k in os.environ
        if k.split("_", 1)[0] in {"ROUTER", "NETWORK", "FRAUD", "API", "VAULT"}
    ]:
        monkeypatch.delenv(key)
    variable, field, value = BY_FILE[package]
    env = {k: v for k, v in SECRETS[package].items() if k != variable}
    for key, given in env.items():
        monkeypatch.setenv(key, given)
    monkeypatch.setenv(f"{variable}_FILE", secret(tmp_path, value + "\n"))
    settings = importlib.import_module(f"{package}.config").Settings()
    got = getattr(settings, field)
    assert (got.get_secret_value() if isinstance(got, SecretStr) else got) == value
