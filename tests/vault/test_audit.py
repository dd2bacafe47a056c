"""The audit log: chained, verified at start, durable, fail-closed, shared by writers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vault.audit import GENESIS, AuditChainBroken, AuditLog, entry_hash, verify_chain
from vault.errors import AuditUnavailable


def entries(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_entries_chain_each_to_the_one_before(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("service:test", "read", "card_a", "ok")
    log.append("service:test", "charge", None, "refused:clearance_invalid")
    first, second = entries(path)
    assert (first["seq"], first["prev_hash"]) == (1, GENESIS)
    assert (second["seq"], second["prev_hash"]) == (2, first["hash"])
    body = {k: v for k, v in second.items() if k != "hash"}
    assert second["hash"] == entry_hash(str(first["hash"]), body)
    assert set(first) == {"seq", "time", "actor", "action", "token", "outcome", "prev_hash", "hash"}
    assert verify_chain(path) == 2


def test_the_log_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "vault" / "audit.log"
    AuditLog(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_a_new_writer_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    AuditLog(path).append("a", "read", None, "ok")
    one, two = AuditLog(path), AuditLog(path)
    one.append("b", "read", None, "ok")
    two.append("c", "read", None, "ok")
    one.append("d", "read", None, "ok")
    assert [e["seq"] for e in entries(path)] == [1, 2, 3, 4]
    assert verify_chain(path) == 4


@pytest.mark.parametrize(
    "tamper",
    [
        lambda lines: [lines[0].replace('"ok"', '"no"'), *lines[1:]],
        lambda lines: [lines[1], lines[0], *lines[2:]],
        lambda lines: lines[1:],
        lambda lines: [*lines[:-1], lines[-1][:-5]],
        lambda lines: [lines[0], "{}", *lines[1:]],
    ],
)
def test_an_edited_log_does_not_verify_and_the_vault_does_not_start_on_it(
    tmp_path: Path, tamper
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    for n in range(3):
        log.append("a", "read", f"card_{n}", "ok")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(tamper(lines)) + "\n")
    with pytest.raises(AuditChainBroken):
        AuditLog(path)


def test_a_torn_last_line_stops_appends(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("a", "read", None, "ok")
    with path.open("a") as f:
        f.write('{"seq": 2')
    with pytest.raises(AuditUnavailable):
        log.append("a", "read", None, "ok")


def test_an_unwritable_log_refuses_with_503(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    path.unlink()
    path.mkdir()
    with pytest.raises(AuditUnavailable) as caught:
        log.append("a", "read", None, "ok")
    assert caught.value.status_code == 503 and caught.value.code == "audit_unavailable"


def test_a_failed_write_leaves_no_partial_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("a", "read", None, "ok")

    def failing_fsync(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(AuditUnavailable):
        log.append("a", "read", None, "ok")
    monkeypatch.undo()
    assert verify_chain(path) == 1
    log.append("a", "read", None, "ok")
    assert verify_chain(path) == 2


def test_anything_shaped_like_a_card_number_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    with pytest.raises(ValueError):
        log.append("a", "read", "card_4242424242424242", "ok")
    assert path.read_text() == ""
