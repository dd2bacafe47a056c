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
        unknown += [
            f"{name}: {v}"
            for v in sorted(variables)
            if v not in known and v not in PENDING and not ENTRYPOINT.search(v)
        ]
    assert unknown == []


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
