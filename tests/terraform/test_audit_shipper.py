"""The vault's audit shipper as terraform/live/pci deploys it: `strongroom audit ship` in a
second container of the vault's task, reading the archive the vault writes (and nothing
else of its volume), writing where the task role and the bucket policy let it write."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.audit_cli import ship
from tests.terraform.hcl import Account, Block, Dir

ARCHIVE = "audit-archive"  # the vault's archive_dir under its data dir (vault/config.py)


@pytest.fixture(scope="module")
def shipper(pci: Account) -> dict[str, Any]:
    call, _ = pci.calls["vault"]
    assert call.body["sidecar"] == (
        "${var.audit_checkpoint_public_key == null ? null : local.audit_shipper}"
    )
    found: dict[str, Any] = pci.root.locals["audit_shipper"]
    return found


def resolve(root: Dir, value: str) -> str:
    """A `${local.x}` of the live root, resolved; anything else as it is."""
    if value.startswith("${local.") and value.endswith("}"):
        return str(root.locals[value[len("${local.") : -1]])
    return value


def named(root: Dir, kind: str, type_: str, name: str) -> Block:
    (found,) = [b for b in root.of(kind, type_) if b.name == name]
    return found


def test_the_shipper_ships_every_minute_to_the_archive_bucket(
    pci: Account, shipper: dict[str, Any]
) -> None:
    assert shipper["command"] == ["strongroom", "audit", "ship", "--every", "60"]
    env = shipper["environment"]
    assert env["STRONGROOM_AUDIT_BUCKET"] == "${module.audit_archive.bucket}"
    assert env["STRONGROOM_AUDIT_PUBLIC_KEY"] == "${var.audit_checkpoint_public_key}"
    assert resolve(pci.root, env["STRONGROOM_AUDIT_PREFIX"]) == "services/vault/"
    # Each one a variable `strongroom audit ship` reads: a misspelt one would be ignored.
    assert set(env) <= {p.envvar for p in ship.params if isinstance(p.envvar, str)}


def test_the_shipper_reads_the_archive_the_vault_writes_and_no_more(
    pci: Account, shipper: dict[str, Any]
) -> None:
    call, _ = pci.calls["vault"]
    shared = named(pci.root, "resource", "aws_efs_access_point", "audit")
    archive = named(pci.root, "resource", "aws_efs_access_point", "audit_archive")
    vault_root = shared.body["root_directory"][0]["path"]
    data_dir = call.body["environment"]["VAULT_DATA_DIR"]
    assert data_dir == call.body["shared_volume"]["path"]
    assert "VAULT_AUDIT_ARCHIVE_DIR" not in call.body["environment"]
    # VAULT_DATA_DIR/audit-archive, and not VAULT_DATA_DIR/vault (the signing key).
    assert archive.body["root_directory"][0]["path"] == f"{vault_root}/{ARCHIVE}"
    assert archive.body["file_system_id"] == shared.body["file_system_id"]
    assert shipper["volume"]["access_point_id"] == "${aws_efs_access_point.audit_archive.id}"
    path = resolve(pci.root, shipper["volume"]["path"])
    assert resolve(pci.root, shipper["environment"]["STRONGROOM_AUDIT_ARCHIVE_DIR"]) == path


def test_the_sidecar_is_read_only_unprivileged_and_not_essential(pci: Account) -> None:
    _, module = pci.calls["vault"]
    container = module.locals["sidecar_container"].replace(" ", "")
    for setting in (
        "essential=false",  # the vault serves on if the shipper stops
        "readonlyRootFilesystem=true",
        'user="10001:10001"',
        'mountPoints=[{sourceVolume="sidecar",containerPath=var.sidecar.volume.path,readOnly=true}]',
        'drop=["ALL"]',
        "image=var.image",
    ):
        assert setting in container
    assert "secrets" not in container and "portMappings" not in container
    task = module.of("resource", "aws_ecs_task_definition")[0]
    assert task.body["container_definitions"] == "${jsonencode(local.containers)}"


def test_the_task_role_may_create_and_read_back_its_records_and_mount_the_archive_only(
    pci: Account,
) -> None:
    policy = named(pci.root, "data", "aws_iam_policy_document", "vault_task")
    statements = policy.blocks("statement")
    s3 = [s for s in statements if any(a.startswith("s3:") for a in s["actions"])]
    assert [sorted(s["actions"]) for s in s3] == [["s3:GetObject", "s3:PutObject"]]
    assert s3[0]["resources"] == ["${module.audit_archive.arn}/${local.audit_prefix}*"]
    mounts = [s for s in statements if "elasticfilesystem:ClientMount" in s["actions"]]
    archive = [
        s
        for s in mounts
        if s["condition"][0]["values"] == ["${aws_efs_access_point.audit_archive.arn}"]
    ]
    assert [s["actions"] for s in archive] == [["elasticfilesystem:ClientMount"]]  # no write


def test_the_bucket_lets_writers_read_back_only_their_records(pci: Account) -> None:
    (call, module) = pci.calls_of("audit_archive")[0]
    assert call.body["writer_role_arns"] == ["${module.vault.task_role_arn}"]
    policy = module.of("data", "aws_iam_policy_document")[0]
    statements = {s.get("sid"): s for s in policy.blocks("statement")}
    dynamic = [d["statement"]["content"][0] for d in policy.body["dynamic"]]
    readers = statements["OnlyReadersRead"]
    assert readers["effect"] == "Deny"
    assert "s3:ListBucket" in readers["actions"] and "s3:GetObjectVersion" in readers["actions"]
    gets = statements["OnlyReadersAndWritersGetObjects"]
    assert gets["effect"] == "Deny" and gets["actions"] == ["s3:GetObject"]
    back = [b for b in dynamic if b.get("sid") == "WritersReadBackOnlyTheirRecords"]
    assert back and back[0]["effect"] == "Deny"
    assert back[0]["not_resources"] == ["${aws_s3_bucket.this.arn}/services/*"]
