"""`strongroom audit verify/search/report` on an archive handed over with its public key alone."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.helpers.commands import strongroom
from vault.audit import AuditLog
from vault.store.owed import Entry
from vault_audit.archive import AuditArchive
from vault_audit.checkpoint import public_key_text

ROUNDS: list[list[Entry]] = [
    [
        ("merchant:mkt_a:publishable:test", "tokenize", "card_a1", "created"),
        ("service:test", "charge", "card_a1", "succeeded"),
        ("service:test", "read", "card_a1", "ok"),
    ],
    [
        ("merchant:mkt_b:publishable:live", "tokenize", "card_b1", "created"),
        ("operator", "rotate_key", None, "current:v2"),
        ("custodian:2", "unseal", None, "accepted:1"),
    ],
    [
        ("service:live", "charge", "card_b1", "refused:breaker_open"),
        ("operator", "set_limit", None, "total:900000:mkt_b"),
        ("service:live", "refund", "card_b1", "succeeded"),
    ],
]


@pytest.fixture
def handed_over(tmp_path: Path) -> Path:
    """What the security team receives: archive/ and checkpoint.pub, in a directory of its own."""
    key = Ed25519PrivateKey.generate()
    vault_dir = tmp_path / "vault-side"
    log = AuditLog(vault_dir / "audit.log")
    archive = AuditArchive(vault_dir / "audit.log", vault_dir / "archive", key)
    for entries in ROUNDS:
        log.submit(entries).result()
        archive.checkpoint()
    team = tmp_path / "team"
    team.mkdir()
    shutil.copytree(vault_dir / "archive", team / "archive")
    (team / "checkpoint.pub").write_text(public_key_text(key.public_key()))
    return team


def verify(team: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["audit", "verify", "--archive", "archive", "--public-key", "checkpoint.pub"]
    return strongroom(team, *args, *extra)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def segment(team: Path, n: int) -> Path:
    return sorted((team / "archive" / "segments").iterdir())[n]


def edit_lines(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    path.write_bytes(b"".join(change(path.read_bytes().splitlines(keepends=True))))


def truncate_newest(team: Path) -> None:
    edit_lines(segment(team, -1), lambda lines: lines[:1])


def edit_an_entry(team: Path) -> None:
    path = segment(team, 1)
    path.write_bytes(path.read_bytes().replace(b'"accepted:1"', b'"accepted:2"'))


def reorder(team: Path) -> None:
    edit_lines(segment(team, 0), lambda lines: [lines[1], lines[0], lines[2]])


def delete_an_entry(team: Path) -> None:
    edit_lines(segment(team, 1), lambda lines: [lines[0], lines[2]])


def delete_a_segment(team: Path) -> None:
    segment(team, 1).unlink()


def remove_newest_checkpoint(team: Path) -> None:
    sorted((team / "archive" / "checkpoints").iterdir())[-1].unlink()


def remove_every_checkpoint(team: Path) -> None:
    shutil.rmtree(team / "archive" / "checkpoints")


def another_public_key(team: Path) -> None:
    key = Ed25519PrivateKey.generate().public_key()
    (team / "checkpoint.pub").write_text(public_key_text(key))


def test_the_untouched_archive_verifies_and_nothing_is_written(handed_over: Path) -> None:
    before = files(handed_over)
    result = verify(handed_over)
    assert result.returncode == 0, result.stderr
    assert "audit archive OK: entries 1..9 in 3 segments" in result.stdout
    assert files(handed_over) == before


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (truncate_newest, "truncated: segment 000000000007-000000000009.log ends at entry 7"),
        (edit_an_entry, "audit entry 6"),
        (reorder, "audit entry 1"),
        (delete_an_entry, "audit entry 5"),
        (delete_a_segment, "missing segment 000000000004-000000000006.log"),
        (remove_newest_checkpoint, "3 entries unprovable"),
        (remove_every_checkpoint, "no checkpoint"),
        (another_public_key, "signature does not verify"),
    ],
)
def test_every_tampering_fails_verification(
    handed_over: Path, tamper: Callable[[Path], None], says: str
) -> None:
    tamper(handed_over)
    before = files(handed_over)
    result = verify(handed_over)
    assert result.returncode == 1, result.stdout
    assert "FAILED" in result.stderr and says in result.stderr
    assert "Traceback" not in result.stderr
    assert files(handed_over) == before  # it creates nothing, even when it fails


def test_json_says_what_failed(handed_over: Path) -> None:
    truncate_newest(handed_over)
    result = verify(handed_over, "--json")
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["ok"] is False and "2 missing" in body["error"]


def test_entries_after_the_newest_checkpoint_are_counted_unprovable(
    handed_over: Path, tmp_path: Path
) -> None:
    live = tmp_path / "vault-side" / "audit.log"
    AuditLog(live).append("service:test", "read", "card_a1", "ok")
    shutil.copy(live, handed_over / "live.log")
    result = verify(handed_over, "--log", "live.log", "--json")
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["unprovable"] == 1
    edit_lines(handed_over / "live.log", lambda lines: lines[:8])  # cut below the checkpoint
    cut = verify(handed_over, "--log", "live.log")
    assert cut.returncode == 1 and "(1 removed)" in cut.stderr


def test_a_missing_or_malformed_public_key_is_one_line(handed_over: Path) -> None:
    (handed_over / "checkpoint.pub").write_text("not a key")
    result = verify(handed_over)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: checkpoint.pub is not a checkpoint public key")
    assert len(result.stderr.strip().splitlines()) == 1
    missing = strongroom(handed_over, "audit", "verify", "--archive", "archive")
    assert missing.returncode == 2 and "--public-key" in missing.stderr


def test_verify_without_an_archive_refuses_a_data_dir_that_is_not_one(tmp_path: Path) -> None:
    result = strongroom(tmp_path, "audit", "verify", "--data-dir", "typo")
    assert result.returncode == 1 and "typo is not a Strongroom data dir" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_search_by_marketplace_finds_its_merchants_and_its_cards(handed_over: Path) -> None:
    args = ["audit", "search", "--archive", "archive", "--public-key", "checkpoint.pub"]
    result = strongroom(handed_over, *args, "--marketplace", "mkt_b", "--json")
    assert result.returncode == 0, result.stderr
    found = [(e["action"], e["outcome"]) for e in json.loads(result.stdout)["data"]]
    assert found == [
        ("tokenize", "created"),
        ("charge", "refused:breaker_open"),
        ("set_limit", "total:900000:mkt_b"),
        ("refund", "succeeded"),
    ]
    text = strongroom(handed_over, *args, "--token", "card_a1", "--action", "charge")
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 1
    assert "service:test" in text.stdout and "succeeded" in text.stdout


def test_search_refuses_an_archive_that_does_not_verify(handed_over: Path) -> None:
    edit_an_entry(handed_over)
    args = ["audit", "search", "--archive", "archive", "--public-key", "checkpoint.pub"]
    result = strongroom(handed_over, *args)
    assert result.returncode == 1 and "FAILED" in result.stderr and result.stdout == ""


def test_report_counts_accesses_key_operations_unseals_limits_and_refusals(
    handed_over: Path,
) -> None:
    args = ["audit", "report", "--archive", "archive", "--public-key", "checkpoint.pub"]
    result = strongroom(handed_over, *args, "--since", "1d", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["card_accesses"]["total"] == 5 and summary["card_accesses"]["cards"] == 2
    assert [e["action"] for e in summary["key_operations"]] == ["rotate_key"]
    assert [e["outcome"] for e in summary["unseals"]] == ["accepted:1"]
    assert [e["action"] for e in summary["limit_changes"]] == ["set_limit"]
    assert summary["refusals"] == {"total": 1, "by_reason": {"charge:breaker_open": 1}}
    assert summary["verified_through"]["seq"] == 9
    text = strongroom(handed_over, *args, "--since", "2020-01-01")
    assert "Card data accesses: 5 on 2 cards" in text.stdout
    assert "Refusals: 1" in text.stdout
    later = strongroom(handed_over, *args, "--since", "2999-01-01", "--json")
    assert json.loads(later.stdout)["entries"] == 0
    bad = strongroom(handed_over, *args, "--since", "yesterday")
    assert bad.returncode == 2 and "not a time" in bad.stderr
