"""An attack on the audit trail as an auditor receives it: the archive (closed segments and
signed checkpoints), a copy of the live log, the checkpoint public key, and what
`strongroom audit verify|search|report` (vault_audit.verify) make of them.

The attacker is an insider who hands the archive over (and may touch the vault host's live
log file, not its database nor its checkpoint key) and wants it to verify while it hides or
changes what happened, or wants the auditor's tools to show what they must not. Every
archive here is built by the real writers (vault.audit.AuditLog, vault_audit.archive.
AuditArchive); no stack is started. What held is asserted. Six holes this attack found are
fixed, their tests kept (the writer chaining to an edited entry, a card number in an
entry, entries not of the format, deep nesting, FIFOs and links in the archive, whose
archive it is).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import vault_audit.verify
from tests.helpers import commands
from vault.audit import AuditLog, read_anchors
from vault.audit_chain import (
    GENESIS,
    AuditChainBroken,
    canonical,
    check_line,
    entry_hash,
)
from vault.errors import AuditUnavailable
from vault.store.db import make_engine
from vault.store.migrate import upgrade_to_head
from vault.store.owed import Entry
from vault_audit.archive import AuditArchive
from vault_audit.checkpoint import load_public_key, public_key_text
from vault_audit.verify import ArchiveInvalid, verify_archive

PAN = "4242424242424242"  # a documented test card: what an entry must never hold

ROUNDS: list[list[Entry]] = [
    [
        ("vault", "init", None, "vlt_live:live:custody:local"),
        ("merchant:mkt_a:secret:live", "tokenize", "card_a1", "created"),
        ("service:live", "charge", "card_a1", "succeeded"),
    ],
    [
        ("operator", "rotate_key", None, "current:v2"),
        ("service:live", "read", "card_a1", "ok"),
        ("custodian:2", "unseal", None, "accepted:1"),
    ],
    [
        ("service:live", "refund", "card_a1", "succeeded"),
        ("operator", "set_limit", None, "total:900000:mkt_a"),
        ("service:live", "read_charge", "card_a1", "ok"),
    ],
]


@dataclass
class Vault:
    """One vault's side: its live log, its archive and its checkpoint key."""

    root: Path
    key: Ed25519PrivateKey
    log: AuditLog
    archive: AuditArchive

    @property
    def log_path(self) -> Path:
        return self.root / "audit.log"

    def round(self, entries: list[Entry]) -> None:
        self.log.submit(entries).result()
        self.archive.checkpoint()


def make_vault(
    root: Path, rounds: list[list[Entry]], key: Ed25519PrivateKey | None = None
) -> Vault:
    root.mkdir(parents=True)
    key = key or Ed25519PrivateKey.generate()
    log = AuditLog(root / "audit.log")
    vault = Vault(root, key, log, AuditArchive(root / "audit.log", root / "archive", key))
    for entries in rounds:
        vault.round(entries)
    return vault


def hand_over(vault: Vault, team: Path) -> Path:
    """What the security team receives: archive/ and checkpoint.pub, in a folder of its own."""
    team.mkdir()
    shutil.copytree(vault.root / "archive", team / "archive")
    (team / "checkpoint.pub").write_text(public_key_text(vault.key.public_key()))
    return team


# The command as the auditor runs it, given 30 s (a hang, as on a FIFO, fails sooner).
strongroom = partial(commands.strongroom, timeout=30)


ARCHIVE = ["--archive", "archive", "--public-key", "checkpoint.pub"]


def segments(team: Path) -> list[Path]:
    return sorted((team / "archive" / "segments").iterdir())


def checkpoints(team: Path) -> list[Path]:
    return sorted((team / "archive" / "checkpoints").iterdir())


def forged_line(body: dict[str, Any]) -> bytes:
    """A line the chain accepts: canonical JSON, its hash over its body, as anyone can make."""
    return (canonical({**body, "hash": entry_hash(body["prev_hash"], body)}) + "\n").encode()


def append_forged(path: Path, fields: dict[str, Any]) -> None:
    """Append to a log a chain-valid entry of the insider's own (no key is needed for that)."""
    last = json.loads(path.read_bytes().splitlines()[-1])
    body = {"seq": last["seq"] + 1, "prev_hash": last["hash"], **fields}
    with path.open("ab") as f:
        f.write(forged_line(body))


def rehash(lines: list[bytes], prev: str) -> list[bytes]:
    """The lines again, each re-chained to the one before: a forgery the chain alone accepts."""
    out = []
    for line in lines:
        body = {k: v for k, v in json.loads(line).items() if k != "hash"}
        body["prev_hash"] = prev
        out.append(forged_line(body))
        prev = json.loads(out[-1])["hash"]
    return out


def refusal(team: Path) -> str:
    """verify_archive's refusal of the team's archive, as the auditor's tool reads it."""
    with pytest.raises(ArchiveInvalid) as caught:
        verify_archive(team / "archive", load_key(team))
    return str(caught.value)


def load_key(team: Path) -> Ed25519PublicKey:
    return load_public_key((team / "checkpoint.pub").read_text())


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return make_vault(tmp_path / "vault-side", ROUNDS)


@pytest.fixture
def team(vault: Vault, tmp_path: Path) -> Path:
    return hand_over(vault, tmp_path / "team")


# --- What held: tamperings the verifier refuses, naming what failed -----------------------


def rehashed_forgery_of_the_middle(team: Path) -> None:
    """Entry 5 (a read of card_a1) rewritten as an innocuous one, and every later entry
    re-chained so that the chain alone verifies end to end."""
    seg = segments(team)
    lines = [line for s in seg for line in s.read_bytes().splitlines(keepends=True)]
    lines[4] = lines[4].replace(b'"read"', b'"rewrap"')
    forged = rehash(lines[3:], json.loads(lines[2])["hash"])
    seg[1].write_bytes(b"".join(forged[:3]))
    seg[2].write_bytes(b"".join(forged[3:]))


def duplicate_an_entry(team: Path) -> None:
    seg = segments(team)[1]
    lines = seg.read_bytes().splitlines(keepends=True)
    seg.write_bytes(b"".join([lines[0], lines[0], *lines[1:]]))


def remove_the_first_segment_and_checkpoint(team: Path) -> None:
    segments(team)[0].unlink()
    checkpoints(team)[0].unlink()


def remove_a_middle_segment_and_its_checkpoint(team: Path) -> None:
    segments(team)[1].unlink()
    checkpoints(team)[1].unlink()


def crlf_line_ends(team: Path) -> None:
    seg = segments(team)[2]
    seg.write_bytes(seg.read_bytes().replace(b"\n", b"\r\n"))


def a_bom(team: Path) -> None:
    seg = segments(team)[0]
    seg.write_bytes(b"\xef\xbb\xbf" + seg.read_bytes())


def trailing_data_after_the_last_entry(team: Path) -> None:
    seg = segments(team)[2]
    seg.write_bytes(seg.read_bytes() + b"{}")


def a_decoy_duplicate_key(team: Path) -> None:
    seg = segments(team)[1]
    seg.write_bytes(
        seg.read_bytes().replace(b'{"action":"read"', b'{"action":"rewrap","action":"read"', 1)
    )


def arabic_indic_digits_in_a_segment_name(team: Path) -> None:
    seg = segments(team)[2]
    seg.rename(seg.with_name(seg.name.replace("9", "\u0669")))


def a_checkpoint_copied_under_the_next_name(team: Path) -> None:
    first, second = checkpoints(team)[:2]
    second.write_bytes(first.read_bytes())


def checkpoints_reordered(team: Path) -> None:
    a, b = checkpoints(team)[1:]
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (
            rehashed_forgery_of_the_middle,
            "audit entry 6 is not the one checkpoint 6 signed",
        ),
        (duplicate_an_entry, "audit entry 5 in 000000000004-000000000006.log does not verify"),
        (remove_the_first_segment_and_checkpoint, "000000000006.json does not follow"),
        (remove_a_middle_segment_and_its_checkpoint, "000000000009.json does not follow"),
        (crlf_line_ends, "audit entry 7 in 000000000007-000000000009.log does not verify"),
        (a_bom, "audit entry 1 in 000000000001-000000000003.log does not verify"),
        (trailing_data_after_the_last_entry, "holds entries past 9 (added)"),
        (a_decoy_duplicate_key, "audit entry 5 in 000000000004-000000000006.log does not verify"),
        (arabic_indic_digits_in_a_segment_name, "is not a segment"),
        (a_checkpoint_copied_under_the_next_name, "000000000006.json is named for another entry"),
        (checkpoints_reordered, "is named for another entry"),
    ],
)
def test_tampered_archives_are_refused(
    team: Path, tamper: Callable[[Path], None], says: str
) -> None:
    tamper(team)
    assert says in refusal(team)


def test_another_vaults_segment_and_checkpoint_spliced_in_are_refused(
    vault: Vault, team: Path, tmp_path: Path
) -> None:
    """The test environment's vault, same entries, its own key: its second round put in the
    place of the live vault's does not verify (the signature)."""
    other = make_vault(tmp_path / "test-side", ROUNDS)
    for name in ("segments", "checkpoints"):
        theirs = sorted((other.root / "archive" / name).iterdir())[1]
        shutil.copyfile(theirs, team / "archive" / name / theirs.name)
    assert "checkpoint 000000000006.json: the signature does not verify" in refusal(team)


def test_the_cli_refuses_a_rehashed_forgery_and_prints_nothing_of_it(team: Path) -> None:
    rehashed_forgery_of_the_middle(team)
    result = strongroom(team, "audit", "search", *ARCHIVE, "--json")
    assert result.returncode == 1 and result.stdout == ""
    assert "FAILED verification" in result.stderr and "rewrap" not in result.stderr
    verdict = strongroom(team, "audit", "verify", *ARCHIVE, "--json")
    assert verdict.returncode == 1
    assert json.loads(verdict.stdout)["ok"] is False


def test_a_rolled_back_archive_verifies_as_documented_and_says_how_far_it_reaches(
    team: Path,
) -> None:
    """Removing the newest segment and its checkpoint leaves an older archive that proves
    itself: docs/vault.md says so (the locked bucket, not the verifier, prevents it). What
    the auditor can hold it against is the newest seq, hash and time it prints."""
    segments(team)[-1].unlink()
    checkpoints(team)[-1].unlink()
    result = strongroom(team, "audit", "verify", *ARCHIVE, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["ok"] is True and body["entries"] == 6
    assert body["newest_checkpoint"]["seq"] == 6 and body["newest_checkpoint"]["time"]


def test_a_log_copy_cut_below_the_newest_checkpoint_is_refused_with_the_count(
    vault: Vault, team: Path
) -> None:
    """Truncation at the end of a live log copy: refused when it reaches into checkpointed
    entries; entries past the newest checkpoint are counted unprovable, never called proven."""
    vault.log.append("service:live", "read", "card_a1", "ok")
    vault.log.append("service:live", "read", "card_a1", "ok")
    lines = vault.log_path.read_bytes().splitlines(keepends=True)
    (team / "live.log").write_bytes(b"".join(lines))
    whole = strongroom(team, "audit", "verify", *ARCHIVE, "--log", "live.log", "--json")
    assert whole.returncode == 0 and json.loads(whole.stdout)["unprovable"] == 2
    (team / "live.log").write_bytes(b"".join(lines[:7]))
    cut = strongroom(team, "audit", "verify", *ARCHIVE, "--log", "live.log")
    assert cut.returncode == 1 and "(2 removed)" in cut.stderr


# --- Holes ---------------------------------------------------------------------------------


def test_an_edited_newest_entry_is_not_laundered_by_the_next_append(tmp_path: Path) -> None:
    root = tmp_path / "vault-side"
    root.mkdir()
    engine = make_engine(f"sqlite:///{root / 'vault.db'}")
    upgrade_to_head(engine)
    key = Ed25519PrivateKey.generate()
    path = root / "audit.log"
    log = AuditLog(path, engine)
    archive = AuditArchive(path, root / "archive", key)
    log.submit(ROUNDS[0]).result()
    archive.checkpoint()
    log.append("operator", "read", "card_a1", "ok")  # entry 4: what the insider erases
    anchored = read_anchors(engine)
    lines = path.read_bytes().splitlines(keepends=True)
    body = {k: v for k, v in json.loads(lines[-1]).items() if k != "hash"}
    body.update(action="rotate_key", token=None, outcome="current:v2:scheduled")
    path.write_bytes(b"".join(lines[:-1]) + forged_line(body))
    try:
        # The vault's next entry: refused, not chained to the edited one (the writer checks
        # what changed since its own last write), so the anchor does not move past it...
        with pytest.raises(AuditUnavailable):
            log.append("service:live", "read", "card_a1", "ok")
        assert read_anchors(engine) == anchored
        # ... and the vault's next start refuses the log: entry 4 is not the one anchored.
        with pytest.raises(AuditChainBroken, match="audit entry 4 is not the one anchored"):
            AuditLog(path, engine)
    finally:
        engine.dispose()


def test_a_card_number_smuggled_into_the_archive_is_refused_and_never_printed(
    vault: Vault, tmp_path: Path
) -> None:
    fields = {
        "time": "2026-12-01T09:00:00.000+00:00",
        "actor": "service:live",
        "action": "read",
        "token": PAN,
        "outcome": "ok",
    }
    append_forged(vault.log_path, fields)
    with pytest.raises(AuditChainBroken, match="holds a card number"):
        vault.archive.checkpoint()  # the vault's next round signs no such entry
    team = hand_over(vault, tmp_path / "team")
    shutil.copyfile(vault.log_path, team / "live.log")  # the auditor's copy of the log
    verdict = strongroom(team, "audit", "verify", *ARCHIVE, "--log", "live.log")
    search = strongroom(team, "audit", "search", *ARCHIVE, "--log", "live.log", "--token", PAN)
    assert PAN not in verdict.stdout + verdict.stderr + search.stdout + search.stderr
    assert verdict.returncode == 1 and "audit entry 10 of live.log holds a card number" in (
        " ".join(verdict.stderr.split())
    )


def test_a_card_number_in_a_log_copys_tail_is_never_printed(vault: Vault, team: Path) -> None:
    shutil.copyfile(vault.log_path, team / "live.log")
    fields = {
        "time": "2026-12-01T09:00:00.000+00:00",
        "actor": "service:live",
        "action": "read",
        "token": "card_a1",
        "outcome": f"ok:{PAN}",
    }
    append_forged(team / "live.log", fields)
    search = strongroom(team, "audit", "search", *ARCHIVE, "--log", "live.log")
    assert PAN not in search.stdout + search.stderr


def entry_fields(**change: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": "2026-12-01T09:00:00.000+00:00",
        "actor": "service:live",
        "action": "read",
        "token": "card_a1",
        "outcome": "ok",
    }
    fields.update(change)
    return {k: v for k, v in fields.items() if v is not ...}


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(entry_fields(time=...), id="no-time"),
        pytest.param({**entry_fields(), "pan_last4": "4242"}, id="extra-field"),
        pytest.param(entry_fields(actor=["operator"]), id="actor-a-list"),
        pytest.param(entry_fields(token=7), id="token-a-number"),
    ],
)
def test_an_entry_not_of_the_format_is_refused(
    vault: Vault, tmp_path: Path, fields: dict[str, Any]
) -> None:
    append_forged(vault.log_path, fields)
    with pytest.raises(AuditChainBroken, match="audit entry 10 does not verify"):
        vault.archive.checkpoint()  # the vault's next round signs no such entry
    team = hand_over(vault, tmp_path / "team")
    shutil.copyfile(vault.log_path, team / "live.log")
    with pytest.raises(ArchiveInvalid, match="audit entry 10"):
        verify_archive(team / "archive", load_key(team), team / "live.log")


def test_an_entry_with_no_time_fails_verify_not_search(vault: Vault, tmp_path: Path) -> None:
    append_forged(vault.log_path, entry_fields(time=...))
    with pytest.raises(AuditChainBroken):
        vault.archive.checkpoint()
    team = hand_over(vault, tmp_path / "team")
    shutil.copyfile(vault.log_path, team / "live.log")
    verdict = strongroom(team, "audit", "verify", *ARCHIVE, "--log", "live.log")
    search = strongroom(team, "audit", "search", *ARCHIVE, "--log", "live.log")
    assert "KeyError" not in search.stderr
    assert verdict.returncode == 1 and "audit entry 10" in verdict.stderr


def test_a_seq_of_true_is_not_entry_one(tmp_path: Path) -> None:
    """At the root of the format check: `"seq":true` equals 1 to Python, and chained."""
    body = {"seq": True, "prev_hash": GENESIS, **entry_fields()}
    with pytest.raises(AuditChainBroken):
        check_line(forged_line(body), 1, GENESIS)
    one = {**body, "seq": 1}
    assert check_line(forged_line(one), 1, GENESIS) == json.loads(forged_line(one))["hash"]


def deep_log_line(team: Path, vault: Vault) -> None:
    (team / "live.log").write_bytes(vault.log_path.read_bytes() + b"[" * 100_000 + b"\n")


def deep_checkpoint(team: Path, vault: Vault) -> None:
    (team / "archive" / "checkpoints" / "000000000012.json").write_bytes(b"[" * 100_000)


@pytest.mark.parametrize("plant", [deep_log_line, deep_checkpoint])
def test_deeply_nested_json_is_a_clear_refusal(
    vault: Vault, team: Path, plant: Callable[[Path, Vault], None]
) -> None:
    plant(team, vault)
    log = team / "live.log" if (team / "live.log").exists() else None
    with pytest.raises(ArchiveInvalid):
        verify_archive(team / "archive", load_key(team), log)


def test_deeply_nested_json_still_fails_the_cli(vault: Vault, team: Path) -> None:
    """The CLI exits 1 with one line naming the entry, no traceback."""
    deep_log_line(team, vault)
    result = strongroom(team, "audit", "verify", *ARCHIVE, "--log", "live.log")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "audit entry 10 of live.log does not verify" in result.stderr


def test_a_fifo_in_the_archive_is_refused_not_waited_on(team: Path) -> None:
    checkpoints(team)[0].unlink()
    os.mkfifo(team / "archive" / "checkpoints" / "000000000003.json")
    try:
        result = strongroom(team, "audit", "verify", *ARCHIVE, timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("audit verify hung on a FIFO")
    assert result.returncode == 1 and "not a regular file" in result.stderr


def test_another_vaults_archive_under_a_shared_key_is_not_taken_for_this_one(
    tmp_path: Path,
) -> None:
    shared = Ed25519PrivateKey.generate()
    make_vault(tmp_path / "live-side", ROUNDS, shared)
    first: list[Entry] = [("vault", "init", None, "vlt_test:test:custody:local")]
    test_rounds = [first, *ROUNDS[1:]]
    test_vault = make_vault(tmp_path / "test-side", test_rounds, shared)
    team = hand_over(test_vault, tmp_path / "team")  # handed over as the live vault's
    # Whose it is, as its first entry (bound to every checkpoint by `chain`) names it ...
    result = strongroom(team, "audit", "verify", *ARCHIVE, "--json")
    assert result.returncode == 0, result.stderr
    said = json.loads(result.stdout)
    assert (said["vault"], said["environment"]) == ("vlt_test", "test")
    text = strongroom(team, "audit", "verify", *ARCHIVE)
    assert "of vault vlt_test, environment test" in text.stdout
    # ... and an auditor who names the vault they audit is refused another's archive.
    for named in (["--vault", "vlt_live"], ["--environment", "live"]):
        refused = strongroom(team, "audit", "verify", *ARCHIVE, *named)
        assert refused.returncode == 1 and "this is the archive of" in refused.stderr
    assert strongroom(team, "audit", "verify", *ARCHIVE, "--vault", "vlt_test").returncode == 0


def test_the_verifier_reads_each_file_once_and_checks_those_bytes(
    team: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TOCTOU: a segment that changes between reads would be caught only if the chain and
    the SHA-256 were computed over one read. Swap the file after its first read: the
    verifier never reads it again, and what it returns is what it hashed."""
    reads: dict[str, int] = {}
    original = vault_audit.verify._read

    def counting(path: Path, kind: str) -> bytes:
        data = original(path, kind)
        reads[path.name] = reads.get(path.name, 0) + 1
        if path.name.endswith(".log"):
            path.write_bytes(b"swapped\n")  # the attacker's change, after the read
        return data

    monkeypatch.setattr(vault_audit.verify, "_read", counting)
    verified = verify_archive(team / "archive", load_key(team))
    assert all(n == 1 for n in reads.values()) and len(reads) == 6
    assert [e["seq"] for e in verified.entries] == list(range(1, 10))
    assert hashlib.sha256(b"swapped\n").hexdigest() != verified.newest.segment_sha256
