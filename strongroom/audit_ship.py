"""The audit archive's shipper: each closed segment and checkpoint, verified, into the bucket.

A process of its own beside the vault (`strongroom audit ship`), never in it: the vault's
archive writer fills ARCHIVE/segments and ARCHIVE/checkpoints on the shared volume, and the
shipper copies each file, once, to `PREFIX/segments/NAME` and `PREFIX/checkpoints/NAME` of
the Object Lock bucket, so that a download of PREFIX is an archive `strongroom audit verify`
proves whole. It walks the chain in the verifier's order, a checkpoint and the segment it
closes at a time, and each file is read once (open_regular: no link) and checked as the
verifier checks it before those very bytes are sent: a file that would fail verification
(a card number, a broken chain, a bad signature) is never shipped.

An object is only ever created (If-None-Match: *), never replaced. A key already in the
bucket is compared by its SHA-256: equal, it was shipped before (a rerun, or another task's
shipper); different, the local file or the object is not what the chain says, and the
shipper stops on an alarm. Nothing is remembered on disk: a rerun after a kill at any point
finds what is already there and ships the rest.

Not in vault_audit, which the vault's process hosts: the vault never ships, and none of its
packages imports an S3 client (tests/test_boundaries.py). The bucket is a `Bucket`; S3's,
through boto3, is strongroom.audit_bucket, loaded only by the shipper's process.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault.audit_chain import GENESIS
from vault_audit.verify import (
    ArchiveInvalid,
    closed_segment,
    is_checkpoint_name,
    next_checkpoint,
    read_archive_file,
    segment_range,
)

ALARM = "AUDIT ARCHIVE ALARM"  # the prefix of the line an alarm (a log metric filter) watches


class Bucket(Protocol):
    """Where the archive goes: objects created once, each with its SHA-256."""

    def checksum(self, key: str) -> str | None:
        """The object's SHA-256 (base64, as S3 gives it); None if there is no such key;
        "" if the object has none."""

    def create(self, key: str, data: bytes, sha256: str) -> bool:
        """Create the object with this SHA-256 (base64); False if the key already exists."""


class ShipAlarm(Exception):
    """The bucket holds another object under a key the archive names: tampering or a bug."""


class BucketUnreadable(Exception):
    """A key exists that HeadObject cannot see (no s3:GetObject): what is there is unknown."""


@dataclass
class Cursor:
    """How far the chain has been verified and shipped: after checkpoint `seq`, whose file
    hashed to `previous`, its last entry to `head`. Kept in memory across rounds only."""

    seq: int = 0
    previous: str = GENESIS
    head: str = GENESIS


@dataclass
class Round:
    """What one round did."""

    files: int = 0  # files of the archive this round went through
    uploaded: int = 0
    present: int = 0  # already in the bucket, the same bytes
    bytes_uploaded: int = 0
    pending: list[str] = field(default_factory=list)  # segments no checkpoint closes yet
    refused: list[str] = field(default_factory=list)  # names not shipped, with the reason


def ship(
    archive: Path,
    key: Ed25519PublicKey,
    bucket: Bucket,
    prefix: str,
    cursor: Cursor | None = None,
    say: Callable[[str], None] = print,
) -> Round:
    """Ship every checkpoint after `cursor` (all, without one) and the segment it closes.

    Stops at the first pair that does not verify (ArchiveInvalid) or differs from what the
    bucket holds (ShipAlarm); what came before it is shipped. Names the writer never makes,
    and links, are refused after the chain is shipped.
    """
    cursor = cursor if cursor is not None else Cursor()
    done = Round()
    checkpoints, segments = _listing(archive / "checkpoints"), _listing(archive / "segments")
    todo = [n for n in checkpoints if is_checkpoint_name(n) and int(n[:12]) > cursor.seq]
    for name in checkpoints:
        if not is_checkpoint_name(name):
            done.refused.append(f"checkpoints/{name}: not a name the archive writes")
    ranges = {}
    for name in segments:
        span = segment_range(name)
        if span is None:
            done.refused.append(f"segments/{name}: not a name the archive writes")
        elif span[0] > cursor.seq:
            ranges[name] = span
    total = 2 * len(todo)
    for name in todo:
        data = read_archive_file(archive / "checkpoints" / name, "checkpoint")
        checkpoint = next_checkpoint(key, name, data, cursor.previous, cursor.seq)
        if checkpoint.segment not in ranges:
            raise ArchiveInvalid(
                f"missing segment {checkpoint.segment}, which checkpoint {name} closes"
            )
        segment = read_archive_file(archive / "segments" / checkpoint.segment, "segment")
        head = closed_segment(segment, checkpoint, cursor.head)
        del ranges[checkpoint.segment]
        # The segment before the checkpoint that closes it: a checkpoint in the bucket
        # always has its segment there.
        _put(bucket, f"{prefix}segments/{checkpoint.segment}", segment, done, total, say)
        _put(bucket, f"{prefix}checkpoints/{name}", data, done, total, say)
        cursor.seq, cursor.previous, cursor.head = checkpoint.seq, _sha256_hex(data), head
    for name, (first, _) in sorted(ranges.items()):
        if first == cursor.seq + 1:
            done.pending.append(name)  # the writer signs its checkpoint next
        else:
            done.refused.append(f"segments/{name}: closed by no checkpoint")
    return done


def _put(
    bucket: Bucket, key: str, data: bytes, done: Round, total: int, say: Callable[[str], None]
) -> None:
    """Create `key` with `data`, or find it there with the same SHA-256; ShipAlarm else."""
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    found = bucket.checksum(key)
    if found is None:
        if bucket.create(key, data, digest):
            done.files += 1
            done.uploaded += 1
            done.bytes_uploaded += len(data)
            say(f"[{done.files}/{total}] uploaded {key} ({len(data)} bytes)")
            return
        found = bucket.checksum(key)  # created meanwhile: another shipper, or a retry
        if found is None:
            raise BucketUnreadable(f"{key} is in the bucket, but this role cannot read it back")
    if found != digest:
        raise ShipAlarm(
            f"{key} in the bucket is not the archive's file (SHA-256 {found or 'none'} there, "
            f"{digest} here): the local file or the object was altered, or a bug wrote it; "
            "nothing is overwritten"
        )
    done.files += 1
    done.present += 1
    say(f"[{done.files}/{total}] present {key} ({len(data)} bytes)")


def _listing(directory: Path) -> list[str]:
    """The names of an archive directory, a writer's unfinished temporaries (.name) aside;
    none if it is not there yet. A link in its place is refused: it would be followed."""
    try:
        mode = os.lstat(directory).st_mode
    except FileNotFoundError:
        return []
    if not stat.S_ISDIR(mode):
        raise ArchiveInvalid(f"{directory} is not a directory (a link?)")
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
