"""What terraform/ tells each service is something the service reads: every variable of
a task (plain or secret) names a field of that service's Settings. The services ignore
variables they do not know, so a misspelt one would pass silently in production."""

from __future__ import annotations

import importlib
import re

import pytest
from pydantic_settings import BaseSettings

from tests.terraform.hcl import Account

# Read by the image's entrypoint, not by the service (docker/entrypoint.sh).
ENTRYPOINT = re.compile(r"_PEM$")
# Read by a library the service uses, not by its Settings: none at present.
LIBRARY: set[str] = set()
# Set by Terraform ahead of the services (each waiting on work named in docs/operations.md);
# none at present.
PENDING: set[str] = set()
PACKAGES = {"edge_proxy", "vault", "router", "api", "fraud"}


def settings_variables(package: str) -> set[str]:
    settings: type[BaseSettings] = importlib.import_module(f"{package}.config").Settings
    prefix = settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in settings.model_fields}


def service_calls(account: Account) -> list[tuple[str, str, set[str]]]:
    found = []
    for call, _ in account.calls_of("service"):
        command = call.body.get("command", [])
        if not command or command[0] not in PACKAGES:
            continue  # Transit runs OpenBao's own image
        names = set(call.body.get("environment", {})) | set(call.body.get("secrets", {}))
        found.append((call.name, command[0], names))
    return found


def test_every_strongroom_task_runs_a_package_of_the_image(account: Account):
    calls = service_calls(account)
    assert {package for _, package, _ in calls} == (
        {"edge_proxy", "vault"} if account.name == "pci" else {"router", "api", "fraud"}
    )


def test_every_variable_terraform_sets_is_a_setting_of_its_service(account: Account):
    unknown = []
    for name, package, variables in service_calls(account):
        known = settings_variables(package)
        # X_FILE beside X_PEM is where the entrypoint writes X_PEM (a CA file a library
        # reads by its own variable), not a setting.
        written = {v.removesuffix("_PEM") + "_FILE" for v in variables if ENTRYPOINT.search(v)}
        unknown += [
            f"{name}: {v}"
            for v in sorted(variables)
            if v not in known
            and v not in PENDING
            and v not in LIBRARY
            and v not in written
            and not ENTRYPOINT.search(v)
        ]
    assert unknown == []


def test_every_required_setting_is_given(account: Account):
    # A setting without a default stops its service at start when it is missing: the
    # vault refused to start without VAULT_FRAUD_PUBLIC_KEY until Terraform gave it.
    missing = []
    for name, package, variables in service_calls(account):
        settings: type[BaseSettings] = importlib.import_module(f"{package}.config").Settings
        prefix = str(settings.model_config.get("env_prefix", "")).upper()
        missing += [
            f"{name}: {prefix}{field.upper()}"
            for field, info in settings.model_fields.items()
            if info.is_required() and f"{prefix}{field.upper()}" not in variables
        ]
    assert missing == []


def test_each_pem_the_entrypoint_writes_has_its_file(account: Account):
    # The entrypoint stops the container on X_PEM without X_FILE (docker/entrypoint.sh).
    lonely = []
    for call, _ in account.calls_of("service"):
        plain, secret = call.body.get("environment", {}), call.body.get("secrets", {})
        for variable in {**plain, **secret}:
            if ENTRYPOINT.search(variable) and variable[:-4] + "_FILE" not in plain:
                lonely.append(f"{call.name}: {variable}")
    assert lonely == []


def test_the_vault_verifies_transit_against_the_internal_ca(pci: Account):
    # The vault verifies Transit's certificate against VAULT_TRANSIT_CA_FILE alone, else
    # the system's roots; the internal CA signs it, so without this the vault cannot open
    # its keys and does not start.
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    vault = calls["vault"]
    assert vault["environment"]["VAULT_TRANSIT_URL"].startswith("https://")
    assert vault["environment"]["VAULT_TRANSIT_CA_FILE"].endswith("/transit-ca.crt")
    assert "VAULT_CACERT" not in vault["environment"]  # hvac's own: the vault ignores it
    assert (
        vault["secrets"]["VAULT_TRANSIT_CA_PEM"] == "${aws_secretsmanager_secret.internal_ca.arn}"
    )


def test_the_vault_calls_the_card_network_it_may_reach(pci: Account):
    # Unset, the vault sends live charges to its development default, 127.0.0.1:8086.
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    assert calls["vault"]["environment"]["VAULT_NETWORK_URL"] == "${var.card_network_url}"
    assert "https://" in str(pci.root.variable("card_network_url").body["validation"])


def test_the_pending_list_holds_nothing_a_service_already_reads():
    served = set().union(*(settings_variables(p) for p in PACKAGES))
    assert PENDING & served == set(), "now a setting: remove it from PENDING"


def test_secrets_are_never_plain_environment(account: Account):
    plain = []
    for call, _ in account.calls_of("service"):
        for key, value in call.body.get("environment", {}).items():
            if re.search(r"CREDENTIAL|SECRET|TOKEN|SIGNING_KEY|PASSWORD|DATABASE_URL", key):
                plain.append(f"{call.name}: {key} = {value!r}")
    assert plain == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_package_has_settings_with_a_prefix(package: str):
    assert all(v.isupper() for v in settings_variables(package))


def test_every_service_with_a_database_is_given_its_url(account: Account):
    # Unset, a service falls back to a SQLite file in its data directory: on the task's
    # tmpfs, one per task, gone at the next deploy (fraud's rules and lists were).
    local = []
    for name, package, variables in service_calls(account):
        settings: type[BaseSettings] = importlib.import_module(f"{package}.config").Settings
        prefix = str(settings.model_config.get("env_prefix", "")).upper()
        if "database_url" in settings.model_fields and f"{prefix}DATABASE_URL" not in variables:
            local.append(name)
    assert local == []
