"""Break a copy of terraform/ the way a hurried change would, run the named invariant
test on it, and see that test fail: the checks of test_invariants.py can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.terraform import invariants
from tests.terraform.hcl import REPO_TERRAFORM, TREE_ENV, load_account

REPO = REPO_TERRAFORM.parent
INVARIANTS = "tests/terraform/test_invariants.py"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found: the mutation no longer applies"
    path.write_text(text.replace(old, new))


def remove_object_lock(tree: Path) -> None:
    main = tree / "modules" / "audit_archive" / "main.tf"
    _edit(main, "  object_lock_enabled = true\n", "")
    text = main.read_text()
    start = text.index('resource "aws_s3_bucket_object_lock_configuration"')
    end = text.index('resource "aws_s3_bucket_server_side_encryption_configuration"')
    main.write_text(text[:start] + text[end:])


def open_the_vault_to_the_internet(tree: Path) -> None:
    with (tree / "live" / "pci" / "flows.tf").open("a") as flows:
        flows.write(
            '\nresource "aws_vpc_security_group_ingress_rule" "vault_from_anywhere" {\n'
            "  provider          = aws.pci\n"
            '  security_group_id = aws_security_group.this["vault"].id\n'
            '  cidr_ipv4         = "0.0.0.0/0"\n'
            '  ip_protocol       = "tcp"\n'
            "  from_port         = 8084\n"
            "  to_port           = 8084\n"
            "}\n"
        )


def peer_the_accounts(tree: Path) -> None:
    with (tree / "live" / "app" / "links.tf").open("a") as links:
        links.write(
            '\nresource "aws_vpc_peering_connection" "shortcut" {\n'
            "  provider      = aws.app\n"
            "  vpc_id        = module.network.vpc_id\n"
            '  peer_vpc_id   = "vpc-0123456789abcdef0"\n'
            '  peer_owner_id = "111111111111"\n'
            "}\n"
        )


MUTATIONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "object lock removed": (
        remove_object_lock,
        "test_audit_archive_is_object_locked_in_compliance_mode_for_a_year",
    ),
    "vault open to 0.0.0.0/0": (
        open_the_vault_to_the_internet,
        "test_pci_account_has_no_ingress_from_anywhere_but_the_load_balancers_443",
    ),
    "peering connection added": (
        peer_the_accounts,
        "test_only_privatelink_joins_the_accounts",
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each mutation's copy, and pytest run on its named test — all at once, in parallel."""
    started = {}
    for label, (mutate, test) in MUTATIONS.items():
        tree = tmp_path_factory.mktemp("terraform") / "terraform"
        shutil.copytree(REPO_TERRAFORM, tree)
        mutate(tree)
        # A bare pytest (no plugins, no conftest but this directory's) starts in a second.
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["--confcutdir", "tests/terraform", "-W", "ignore::pytest.PytestConfigWarning"]
        started[label] = subprocess.Popen(
            [*command, f"{INVARIANTS}::{test}"],
            cwd=REPO,
            env={**os.environ, TREE_ENV: str(tree), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    finished = {}
    for label, process in started.items():
        out, _ = process.communicate(timeout=120)
        finished[label] = subprocess.CompletedProcess(process.args, process.returncode, out)
    return finished


@pytest.mark.parametrize("label", list(MUTATIONS))
def test_the_named_invariant_test_fails_on_the_mutated_tree(label: str, runs):
    _, test = MUTATIONS[label]
    run = runs[label]
    assert run.returncode == 1, run.stdout
    assert f"FAILED {INVARIANTS}::{test}" in run.stdout, run.stdout


# Faster, in-process: more ways to break a promise, each caught by its invariant.
def _mutated(tmp_path: Path, edits: list[tuple[str, str, str]]) -> Path:
    tree = tmp_path / "terraform"
    shutil.copytree(REPO_TERRAFORM, tree)
    for file, old, new in edits:
        _edit(tree / file, old, new)
    return tree


CASES = [
    (
        "governance mode",
        "pci",
        [("modules/audit_archive/main.tf", 'mode = "COMPLIANCE"', 'mode = "GOVERNANCE"')],
        invariants.audit_archive_unlocked,
    ),
    (
        "a 30-day audit retention",
        "pci",
        [("live/pci/audit.tf", "retention_days    = 400", "retention_days    = 30")],
        invariants.audit_archive_unlocked,
    ),
    (
        "a vault of one task",
        "pci",
        [
            (
                "live/pci/vault.tf",
                "min_tasks             = 2\n  max_tasks             = 10",
                "min_tasks             = 1\n  max_tasks             = 10",
            )
        ],
        invariants.too_few_tasks,
    ),
    (
        "an unencrypted database",
        "pci",
        [
            (
                "modules/database/main.tf",
                "storage_encrypted     = true",
                "storage_encrypted     = false",
            )
        ],
        invariants.unencrypted_data_stores,
    ),
    (
        "logs under AWS's own key",
        "app",
        [
            (
                "modules/service/main.tf",
                "kms_key_id        = var.kms_key_arn",
                'kms_key_id        = "alias/aws/logs"',
            )
        ],
        invariants.unencrypted_data_stores,
    ),
    (
        "weekly copies kept a week",
        "app",
        [("modules/backup/main.tf", "delete_after = 28 # four weekly copies", "delete_after = 7")],
        invariants.backup_retention_wrong,
    ),
    (
        "PITR of 7 days",
        "pci",
        [
            (
                "modules/database/main.tf",
                "backup_retention_period             = 14",
                "backup_retention_period             = 7",
            )
        ],
        invariants.backup_retention_wrong,
    ),
    (
        "operator without MFA",
        "pci",
        [
            (
                "modules/operator_role/main.tf",
                'variable = "aws:MultiFactorAuthPresent"',
                'variable = "aws:SecureTransport"',
            )
        ],
        invariants.staff_roles_loose,
    ),
    (
        "a third operator",
        "pci",
        [
            (
                "modules/operator_role/variables.tf",
                "length(var.principal_arns) <= 2",
                "length(var.principal_arns) <= 3",
            )
        ],
        invariants.staff_roles_loose,
    ),
    (
        "endpoint service open to anyone",
        "app",
        [
            (
                "modules/privatelink_service/main.tf",
                "acceptance_required        = true",
                "acceptance_required        = false",
            )
        ],
        invariants.links_other_than_privatelink,
    ),
    (
        "a module on the default provider",
        "pci",
        [("live/pci/backup.tf", "  providers      = { aws = aws.pci }\n", "")],
        invariants.providers_not_pinned,
    ),
    (
        "the random provider not passed on",
        "app",
        [
            (
                "live/app/services.tf",
                "{ aws = aws.app, random = random }",
                "{ aws = aws.app }",
            )
        ],
        invariants.providers_not_pinned,
    ),
]


@pytest.mark.parametrize(("label", "account", "edits", "check"), CASES, ids=[c[0] for c in CASES])
def test_the_invariant_catches(label, account, edits, check, tmp_path: Path):
    assert check(load_account(account, REPO_TERRAFORM)) == [], "fails on the real tree"
    assert check(load_account(account, _mutated(tmp_path, edits))) != []
