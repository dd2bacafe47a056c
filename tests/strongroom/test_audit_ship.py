"""`strongroom audit ship`: a real vault audit archive into an Object Lock bucket, and back.

moto's server (`python -m moto.server`, its own process, over HTTP) stands in for S3: no S3
is reachable offline. Each bucket is made as terraform/modules/audit_archive makes the real
one: Object Lock on, COMPLIANCE default retention (so versioning), and every object must
come with a checksum. The archives are written by the vault's own writers (vault.audit.
AuditLog, vault_audit.archive.AuditArchive); the shipper runs as the `strongroom` command.
"""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom import audit_ship
from tests.attack.test_audit_archive import ROUNDS, Vault, forged_line, make_vault
from tests.helpers import commands
from vault_audit.checkpoint import Checkpoint, key_id, public_key_text, sign

PAN = "4242424242424242"
PREFIX = "services/vault/"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "eu-west-1",
    "PYTHONUNBUFFERED": "1",  # progress lines as they are printed (the kill test reads them)
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server, a process of its own on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return boto3.client("s3", endpoint_url=s3_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new bucket as the audit archive's: Object Lock, COMPLIANCE retention by default."""
    name = f"audit-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(
        Bucket=name,
        ObjectLockEnabledForBucket=True,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    s3.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    return name


def ship_args(vault: Vault, bucket: str, endpoint: str) -> list[str]:
    pub = vault.root / "checkpoint.pub"
    pub.write_text(public_key_text(vault.key.public_key()))
    return [
        "audit",
        "ship",
        "--archive-dir",
        str(vault.root / "archive"),
        "--public-key",
        str(pub),
        "--bucket",
        bucket,
        "--prefix",
        PREFIX,
        "--endpoint-url",
        endpoint,
        "--once",
    ]


def ship(vault: Vault, bucket: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    return commands.strongroom(vault.root, *ship_args(vault, bucket, endpoint), timeout=60)


def versions(s3: Any, bucket: str) -> dict[str, int]:
    """Each key of the bucket and how many versions it has."""
    found: dict[str, int] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            found[version["Key"]] = found.get(version["Key"], 0) + 1
    return found


def local_files(vault: Vault) -> dict[str, bytes]:
    archive = vault.root / "archive"
    return {
        f"{PREFIX}{p.relative_to(archive)}": p.read_bytes()
        for kind in ("segments", "checkpoints")
        for p in (archive / kind).iterdir()
        if not p.name.startswith(".")
    }


def download(s3: Any, bucket: str, to: Path) -> Path:
    """What an auditor does: every object under the prefix, into a folder, as it is keyed."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for obj in page.get("Contents", []):
            path = to / obj["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    return to / PREFIX


def test_an_archive_shipped_verifies_from_the_bucket_and_a_rerun_uploads_nothing(
    tmp_path: Path, s3: Any, bucket: str, s3_endpoint: str
) -> None:
    vault = make_vault(tmp_path / "vault", ROUNDS)
    first = ship(vault, bucket, s3_endpoint)
    assert first.returncode == 0, first.stderr
    size = sum(len(data) for data in local_files(vault).values())
    assert f"6 of 6 files uploaded ({size} bytes), 0 already in" in first.stdout
    assert "[1/6] uploaded services/vault/segments/000000000001-000000000003.log" in first.stdout
    assert versions(s3, bucket) == dict.fromkeys(local_files(vault), 1)
    for key, data in local_files(vault).items():
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ObjectLockMode"] == "COMPLIANCE"  # the bucket's default retention
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()

    archive = download(s3, bucket, tmp_path / "auditor")
    pub = vault.root / "checkpoint.pub"
    verdict = commands.strongroom(
        tmp_path, "audit", "verify", "--archive", str(archive), "--public-key", str(pub)
    )
    assert verdict.returncode == 0, verdict.stderr
    assert "audit archive OK: entries 1..9 in 3 segments" in verdict.stdout

    # The key as the security team holds it (Terraform sets it so), not the vault's file.
    args = ship_args(vault, bucket, s3_endpoint)
    at = args.index("--public-key")
    args[at : at + 2] = ["--public-key-text", public_key_text(vault.key.public_key())]
    again = commands.strongroom(vault.root, *args)
    assert again.returncode == 0, again.stderr
    assert "0 of 6 files uploaded (0 bytes), 6 already in" in again.stdout
    assert versions(s3, bucket) == dict.fromkeys(local_files(vault), 1)  # no second version


@pytest.mark.timeout(60)
def test_a_run_killed_midway_is_finished_by_the_next(
    tmp_path: Path, s3: Any, bucket: str, s3_endpoint: str
) -> None:
    vault = make_vault(tmp_path / "vault", ROUNDS * 10)  # 30 segments, 30 checkpoints
    run = subprocess.Popen(
        [sys.executable, "-m", "strongroom", *ship_args(vault, bucket, s3_endpoint)],
        cwd=vault.root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    for line in run.stdout:
        if line.startswith("[7/60]"):
            run.send_signal(signal.SIGKILL)
            break
    assert run.wait(30) == -signal.SIGKILL
    shipped = len(versions(s3, bucket))
    assert 7 <= shipped < 60

    rerun = ship(vault, bucket, s3_endpoint)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{60 - shipped} of 60 files uploaded" in rerun.stdout
    assert f"{shipped} already in" in rerun.stdout
    assert versions(s3, bucket) == dict.fromkeys(local_files(vault), 1)


def test_another_archive_under_keys_already_in_the_bucket_is_refused_with_an_alarm(
    tmp_path: Path, s3: Any, bucket: str, s3_endpoint: str
) -> None:
    """A vault whose archive was replaced (same key, other entries): each file verifies on
    its own, but the bucket holds other bytes under its names. Nothing is overwritten."""
    key = Ed25519PrivateKey.generate()
    vault = make_vault(tmp_path / "vault", ROUNDS, key)
    assert ship(vault, bucket, s3_endpoint).returncode == 0
    before = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in versions(s3, bucket)}
    other = make_vault(tmp_path / "other", [ROUNDS[0], ROUNDS[2], ROUNDS[1]], key)
    refused = ship(other, bucket, s3_endpoint)
    assert refused.returncode == 2
    assert "AUDIT ARCHIVE ALARM: services/vault/segments/000000000001-000000000003.log" in (
        refused.stderr
    )
    assert "is not the archive's file" in refused.stderr
    after = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in versions(s3, bucket)}
    assert after == before and set(versions(s3, bucket).values()) == {1}


def test_a_local_file_changed_after_it_was_shipped_is_refused(
    tmp_path: Path, s3: Any, bucket: str, s3_endpoint: str
) -> None:
    vault = make_vault(tmp_path / "vault", ROUNDS)
    assert ship(vault, bucket, s3_endpoint).returncode == 0
    segment = vault.root / "archive" / "segments" / "000000000004-000000000006.log"
    segment.write_bytes(segment.read_bytes().replace(b'"ok"', b'"no"'))
    refused = ship(vault, bucket, s3_endpoint)
    assert refused.returncode == 2
    assert "AUDIT ARCHIVE ALARM: audit entry 5 in 000000000004-000000000006.log does not" in (
        refused.stderr
    )
    assert set(versions(s3, bucket).values()) == {1}


def test_a_link_and_a_name_the_archive_never_writes_are_refused(
    tmp_path: Path, s3: Any, bucket: str, s3_endpoint: str
) -> None:
    vault = make_vault(tmp_path / "vault", ROUNDS)
    archive = vault.root / "archive"
    (archive / "segments" / "notes.txt").write_text("not the vault's")
    stray = ship(vault, bucket, s3_endpoint)
    assert stray.returncode == 2
    assert "not shipped: segments/notes.txt: not a name the archive writes" in stray.stderr
    assert len(versions(s3, bucket)) == 6  # the archive's own files went; the stray did not

    checkpoint = archive / "checkpoints" / "000000000009.json"
    target = tmp_path / "elsewhere.json"
    target.write_bytes(checkpoint.read_bytes())
    checkpoint.unlink()
    checkpoint.symlink_to(target)
    (archive / "segments" / "notes.txt").unlink()
    s3_fresh = f"{bucket}-b"
    s3.create_bucket(
        Bucket=s3_fresh,
        ObjectLockEnabledForBucket=True,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    linked = ship(vault, s3_fresh, s3_endpoint)
    assert linked.returncode == 2
    assert "AUDIT ARCHIVE ALARM: cannot read 000000000009.json" in linked.stderr
    assert f"{PREFIX}checkpoints/000000000009.json" not in versions(s3, s3_fresh)
    assert len(versions(s3, s3_fresh)) == 4  # the two pairs before it


def test_a_segment_holding_a_card_number_is_never_shipped(
    tmp_path: Path, s3: Any, bucket: str, s3_endpoint: str
) -> None:
    """Made by hand (the writer refuses a card number) and signed with the vault's own key:
    only the verifier's check of each entry stops it."""
    vault = make_vault(tmp_path / "vault", ROUNDS[:2])
    archive, last = vault.root / "archive", json.loads(vault.log_path.read_bytes().splitlines()[-1])
    body = {k: v for k, v in last.items() if k != "hash"}
    body.update(seq=7, prev_hash=last["hash"], token=PAN)
    line = forged_line(body)
    segment = archive / "segments" / "000000000007-000000000007.log"
    segment.write_bytes(line)
    before = archive / "checkpoints" / "000000000006.json"
    first = json.loads(vault.log_path.read_bytes().splitlines()[0])
    checkpoint = Checkpoint(
        version=1,
        chain=first["hash"],
        seq=7,
        hash=json.loads(line)["hash"],
        time=last["time"],
        first=7,
        segment=segment.name,
        segment_sha256=hashlib.sha256(line).hexdigest(),
        previous=hashlib.sha256(before.read_bytes()).hexdigest(),
        key=key_id(vault.key.public_key()),
    )
    (archive / "checkpoints" / "000000000007.json").write_bytes(sign(vault.key, checkpoint))
    refused = ship(vault, bucket, s3_endpoint)
    assert refused.returncode == 2
    assert "audit entry 7 in 000000000007-000000000007.log holds a card number" in refused.stderr
    assert PAN not in refused.stdout + refused.stderr
    assert sorted(versions(s3, bucket)) == sorted(
        k for k in local_files(vault) if "000000000007" not in k
    )


class HiddenBucket:
    """A bucket as the vault's role may see it with no read-back: every key looks absent,
    and a conditional create of an existing key fails."""

    def checksum(self, key: str) -> str | None:
        return None

    def create(self, key: str, data: bytes, sha256: str) -> bool:
        return False


def test_a_key_that_exists_but_cannot_be_read_back_is_an_error_not_a_silent_success(
    tmp_path: Path,
) -> None:
    vault = make_vault(tmp_path / "vault", ROUNDS[:1])
    with pytest.raises(audit_ship.BucketUnreadable, match="cannot read it back"):
        audit_ship.ship(
            vault.root / "archive",
            vault.key.public_key(),
            HiddenBucket(),
            PREFIX,
            say=lambda line: None,
        )


@pytest.mark.timeout(30)  # a shipper that never ships the new round would run on
def test_every_round_ships_what_the_vault_archived_since_the_last(
    tmp_path: Path, s3: Any, bucket: str, s3_endpoint: str
) -> None:
    vault = make_vault(tmp_path / "vault", ROUNDS[:1])
    args = [*ship_args(vault, bucket, s3_endpoint)[:-1], "--every", "1"]
    run = subprocess.Popen(
        [sys.executable, "-m", "strongroom", *args],
        cwd=vault.root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        rounds = []
        for line in run.stdout:
            if line.startswith("audit ship:"):
                rounds.append(line)
                if len(rounds) == 1:
                    vault.round(ROUNDS[1])  # the vault's next checkpoint, while it runs
                if "through entry 6" in line:
                    break
        # Round 1 ships the first pair; a later one the second, not the first again.
        assert "2 of 2 files uploaded" in rounds[0] and "through entry 3" in rounds[0]
        assert "2 of 2 files uploaded" in rounds[-1] and "0 already in" in rounds[-1]
        assert all("0 of 0 files" in r for r in rounds[1:-1])
    finally:
        run.kill()
        run.wait(10)
    assert versions(s3, bucket) == dict.fromkeys(local_files(vault), 1)


class MemoryBucket:
    """The local Bucket: a dict of key to bytes, created once."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def checksum(self, key: str) -> str | None:
        data = self.objects.get(key)
        return None if data is None else base64.b64encode(hashlib.sha256(data).digest()).decode()

    def create(self, key: str, data: bytes, sha256: str) -> bool:
        assert sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
        return self.objects.setdefault(key, data) is data


def test_the_segment_awaiting_its_checkpoint_waits_and_one_no_checkpoint_closes_is_refused(
    tmp_path: Path,
) -> None:
    vault = make_vault(tmp_path / "vault", ROUNDS[:2])
    segments = vault.root / "archive" / "segments"
    (segments / "000000000007-000000000008.log").write_bytes(b"")  # the writer's next
    (segments / "000000000002-000000000003.log").write_bytes(b"")  # overlaps what is closed
    bucket = MemoryBucket()
    done = audit_ship.ship(
        vault.root / "archive", vault.key.public_key(), bucket, PREFIX, say=lambda line: None
    )
    assert (done.uploaded, done.present, done.files) == (4, 0, 4)
    assert done.pending == ["000000000007-000000000008.log"]
    assert done.refused == ["segments/000000000002-000000000003.log: closed by no checkpoint"]
    unshipped = ("000000000007-000000000008.log", "000000000002-000000000003.log")
    assert set(bucket.objects) == {k for k in local_files(vault) if not k.endswith(unshipped)}
