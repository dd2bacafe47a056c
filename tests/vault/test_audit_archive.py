"""The audit archive: closed segments, signed chained checkpoints, and the vault writing them."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from vault.app import create_app
from vault.audit import AuditLog
from vault.audit_chain import AuditChainBroken
from vault_audit.archive import AuditArchive
from vault_audit.checkpoint import (
    CheckpointInvalid,
    load_or_create_key,
    load_public_key,
    open_checkpoint,
)
from vault_audit.verify import ArchiveInvalid, verify_archive


def write(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append("service:test", "read", f"card_{i}", "ok")


def test_each_round_closes_a_segment_under_a_checkpoint_linked_to_the_last(
    tmp_path: Path,
) -> None:
    key = Ed25519PrivateKey.generate()
    log = AuditLog(tmp_path / "audit.log")
    archive = AuditArchive(tmp_path / "audit.log", tmp_path / "archive", key)
    assert archive.checkpoint() is None  # nothing to archive yet
    write(log, 3)
    first = archive.checkpoint()
    assert archive.checkpoint() is None  # nothing new: no empty segment
    write(log, 2)
    second = archive.checkpoint()
    assert first is not None and second is not None
    assert (first.first, first.seq, second.first, second.seq) == (1, 3, 4, 5)
    segments = sorted(p.name for p in (tmp_path / "archive" / "segments").iterdir())
    assert segments == ["000000000001-000000000003.log", "000000000004-000000000005.log"]
    lines = (tmp_path / "audit.log").read_bytes().splitlines(keepends=True)
    assert (tmp_path / "archive" / "segments" / segments[1]).read_bytes() == b"".join(lines[3:])
    assert second.hash == json.loads(lines[-1])["hash"]
    verified = verify_archive(tmp_path / "archive", key.public_key())
    assert [e["seq"] for e in verified.entries] == [1, 2, 3, 4, 5]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (tmp_path / "archive").rglob("*.*"))


def test_a_checkpoint_does_not_open_under_another_key(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    write(AuditLog(tmp_path / "audit.log"), 1)
    AuditArchive(tmp_path / "audit.log", tmp_path / "archive", key).checkpoint()
    data = (tmp_path / "archive" / "checkpoints" / "000000000001.json").read_bytes()
    assert open_checkpoint(key.public_key(), data).seq == 1
    with pytest.raises(CheckpointInvalid):
        open_checkpoint(Ed25519PrivateKey.generate().public_key(), data)


def test_a_restarted_archive_continues_where_it_stopped(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    log = AuditLog(tmp_path / "audit.log")
    write(log, 2)
    AuditArchive(tmp_path / "audit.log", tmp_path / "archive", key).checkpoint()
    write(log, 2)
    again = AuditArchive(tmp_path / "audit.log", tmp_path / "archive", key).checkpoint()
    assert again is not None and (again.first, again.seq) == (3, 4)
    assert verify_archive(tmp_path / "archive", key.public_key()).newest.seq == 4


def test_a_live_log_cut_below_its_checkpoint_stops_the_archive_at_start(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "audit.log"
    write(AuditLog(path), 4)
    AuditArchive(path, tmp_path / "archive", key).checkpoint()
    # The whole of the case: the newest entries cut off, nothing in any database.
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:2]))
    with pytest.raises(AuditChainBroken, match="before its checkpoint"):
        AuditArchive(path, tmp_path / "archive", key)


def test_the_checkpoint_key_is_private_and_its_public_half_is_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "vault" / "audit-checkpoint.key"
    key = load_or_create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    public = load_public_key((tmp_path / "vault" / "audit-checkpoint.key.pub").read_text())
    assert public == key.public_key()
    assert load_or_create_key(path).private_bytes_raw() == key.private_bytes_raw()
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        load_or_create_key(path)


def test_the_vault_checkpoints_at_its_interval_and_when_it_stops(sqlite_vault) -> None:
    settings = sqlite_vault.settings.model_copy(update={"audit_checkpoint_interval": 0.2})
    archive = settings.archive_dir
    public = load_public_key(settings.checkpoint_key_file.with_suffix(".key.pub").read_text())
    with TestClient(create_app(settings)) as client:
        vault = dataclasses.replace(sqlite_vault, client=client, settings=settings)
        vault.token("4242424242424242")
        for _ in range(50):
            if any((archive / "checkpoints").glob("*.json")):
                break
            time.sleep(0.1)
        assert any((archive / "checkpoints").glob("*.json"))  # written while it runs
        vault.token("4242424242424242")
    seq = len(settings.audit_path.read_text().splitlines())
    verified = verify_archive(archive, public, settings.audit_path)
    assert verified.newest.seq == seq and verified.unprovable == 0  # the stop closed the rest


def test_an_archive_with_no_checkpoint_proves_nothing(tmp_path: Path) -> None:
    (tmp_path / "archive").mkdir()
    with pytest.raises(ArchiveInvalid, match="no checkpoint"):
        verify_archive(tmp_path / "archive", Ed25519PrivateKey.generate().public_key())
