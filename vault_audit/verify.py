"""Verifying an audit archive with the checkpoint public key and nothing else.

What a security team in another account runs on its copy of the archive: no database, no
vault secret, and nothing written anywhere. Every checkpoint's signature must hold and each
must link to the one before; every segment must be present, contiguous from entry 1, and
chained entry by entry; the newest checkpoint must be reached. An entry past the newest
checkpoint proves nothing: a truncation there could not be seen, so it is counted and said.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vault.audit_chain import GENESIS, AuditChainBroken, check_line
from vault.domain.card_numbers import holds_card_number
from vault_audit.checkpoint import Checkpoint, CheckpointInvalid, checkpoint_name, open_checkpoint

_SEGMENT = re.compile(r"([0-9]{12})-([0-9]{12})\.log")
_LARGEST = {"checkpoint": 64 * 1024, "segment": 1 << 30}  # bytes read of one archive file
_CHECKPOINT = re.compile(r"[0-9]{12}\.json")


class ArchiveInvalid(Exception):
    """The archive does not prove the log whole; the message says what is wrong."""


@dataclass
class Verified:
    """A verified archive: its entries (oldest first), the newest checkpoint, and counts."""

    newest: Checkpoint
    checkpoints: int
    segments: int
    entries: list[dict[str, Any]] = field(default_factory=list)
    unprovable: int = 0  # entries of the live log copy past the newest checkpoint

    @property
    def vault(self) -> tuple[str, str] | None:
        """(vault id, environment) as the log's first entry, the vault's `init`, records
        them: signed in every checkpoint through `chain`, the hash of that entry. None
        for a log that does not begin so."""
        first = self.entries[0] if self.entries else {}
        if (first.get("actor"), first.get("action")) != ("vault", "init"):
            return None
        vault_id, environment, *_ = [*str(first["outcome"]).split(":"), "", ""]
        return (vault_id, environment) if vault_id.startswith("vlt_") else None


def verify_archive(archive: Path, key: Ed25519PublicKey, log: Path | None = None) -> Verified:
    """The archive's entries once every check holds; ArchiveInvalid naming the first that fails.

    With `log`, a copy of the live log must also hold every checkpointed entry unchanged;
    its entries past the newest checkpoint are returned too, counted as unprovable.
    """
    checkpoints = _checkpoints(archive / "checkpoints", key)
    segments = _segment_names(archive / "segments")
    newest = checkpoints[-1]
    entries: list[dict[str, Any]] = []
    prev = GENESIS
    for checkpoint in checkpoints:
        name = checkpoint.segment
        if name not in segments:
            raise ArchiveInvalid(
                f"missing segment {name}: entries {checkpoint.first}..{checkpoint.seq}, "
                f"which checkpoint {checkpoint.file_name} covers, are not in the archive"
            )
        data = _read(archive / "segments" / name, "segment")
        prev = closed_segment(data, checkpoint, prev, entries)
        del segments[name]
    if segments:
        names = sorted(segments)
        first, last = segments[names[0]][0], segments[names[-1]][1]
        raise ArchiveInvalid(
            f"entries {first}..{last} ({', '.join(names)}) are covered by no checkpoint: "
            f"a checkpoint was removed, or the vault stopped before signing it. A truncation "
            f"after entry {newest.seq} cannot be ruled out ({last - first + 1} entries unprovable)"
        )
    verified = Verified(newest, len(checkpoints), len(checkpoints), entries)
    if log is not None:
        verified.unprovable = _live_log(log, newest, entries)
    return verified


def _checkpoints(directory: Path, key: Ed25519PublicKey) -> list[Checkpoint]:
    """Every checkpoint, verified and in order, each linked to the one before."""
    names = _names(directory)
    if not names:
        raise ArchiveInvalid(f"no checkpoint in {directory}: nothing in the archive is proven")
    checkpoints, previous, seq = [], GENESIS, 0
    for name in names:
        if not _CHECKPOINT.fullmatch(name):
            raise ArchiveInvalid(f"{name} in {directory} is not a checkpoint")
        data = _read(directory / name, "checkpoint")
        checkpoint = next_checkpoint(key, name, data, previous, seq)
        checkpoints.append(checkpoint)
        previous, seq = hashlib.sha256(data).hexdigest(), checkpoint.seq
    return checkpoints


def next_checkpoint(
    key: Ed25519PublicKey, name: str, data: bytes, previous: str, seq: int
) -> Checkpoint:
    """The checkpoint in the bytes of file `name`, once its signature holds under `key` and it
    follows the checkpoint before it (whose file hashed to `previous`, closing entry `seq`;
    GENESIS and 0 for the first)."""
    try:
        checkpoint = open_checkpoint(key, data)
    except CheckpointInvalid as exc:
        raise ArchiveInvalid(f"checkpoint {name}: {exc}") from None
    if checkpoint_name(checkpoint.seq) != name:
        raise ArchiveInvalid(f"checkpoint {name} is named for another entry (renamed)")
    if checkpoint.previous != previous or checkpoint.first != seq + 1:
        raise ArchiveInvalid(
            f"checkpoint {name} does not follow the one before it: "
            "a checkpoint was removed or replaced"
        )
    return checkpoint


def closed_segment(
    data: bytes, checkpoint: Checkpoint, prev: str, out: list[dict[str, Any]] | None = None
) -> str:
    """Check the bytes of the segment `checkpoint` closes, whose first entry follows the entry
    that hashed to `prev`: chained entry by entry, no card number, the bytes checkpointed.
    The hash of its last entry; its entries appended to `out` if given."""
    name = checkpoint.segment
    head = _chain(data, checkpoint, prev, [] if out is None else out)
    if hashlib.sha256(data).hexdigest() != checkpoint.segment_sha256:
        raise ArchiveInvalid(f"segment {name} is not the one checkpointed (its bytes changed)")
    return head


def is_checkpoint_name(name: str) -> bool:
    """Whether the archive's writer names checkpoint files so."""
    return _CHECKPOINT.fullmatch(name) is not None


def segment_range(name: str) -> tuple[int, int] | None:
    """(first, last) entry of a segment file named so by the archive's writer; None if it is
    not such a name."""
    match = _SEGMENT.fullmatch(name)
    return None if match is None else (int(match[1]), int(match[2]))


def read_archive_file(path: Path, kind: str) -> bytes:
    """An archive file's bytes, read once through open_regular (no link, no FIFO), at most
    the size of any file of its kind ("segment" or "checkpoint"); ArchiveInvalid else."""
    return _read(path, kind)


def holds_card_data(entry: dict[str, Any]) -> bool:
    """Whether an entry (of a line check_line passed) holds what may be a card number: the
    writer refuses one, so only a line made by hand can, and it is never shown."""
    # As the writer checks them; `time` is an ISO 8601 instant (check_line), whose digits
    # the check would take for a card number now and then.
    fields = ("actor", "action", "token", "outcome")
    return any(holds_card_number(entry[name] or "") for name in fields)


def open_regular(path: Path) -> BinaryIO:
    """`path` opened to read if it is a regular file, not through a link; OSError else: a
    link, a FIFO or a device named like a file would be followed, block its reader or
    never end."""
    f = os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb")
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise OSError(errno.EINVAL, "not a regular file")
    return f


def _read(path: Path, kind: str) -> bytes:
    """A regular file's bytes (open_regular), up to its kind's size."""
    try:
        with open_regular(path) as f:
            if os.fstat(f.fileno()).st_size > _LARGEST[kind]:
                raise ArchiveInvalid(f"{path.name} is larger than any {kind}")
            return f.read(_LARGEST[kind] + 1)
    except OSError as exc:
        raise ArchiveInvalid(f"cannot read {path.name}: {exc.strerror}") from None


def _names(directory: Path) -> list[str]:
    """The files of an archive directory; a writer's unfinished temporary (.name) aside."""
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def _segment_names(directory: Path) -> dict[str, tuple[int, int]]:
    segments = {}
    names = _names(directory)
    for name in names:
        match = _SEGMENT.fullmatch(name)
        if match is None:
            raise ArchiveInvalid(f"{name} in {directory} is not a segment")
        segments[name] = (int(match[1]), int(match[2]))
    return segments


def _chain(data: bytes, checkpoint: Checkpoint, prev: str, out: list[dict[str, Any]]) -> str:
    """Check one segment's entries against the chain and its checkpoint; the head's hash."""
    seq = checkpoint.first - 1
    for line in data.splitlines(keepends=True):
        seq += 1
        if seq > checkpoint.seq:
            raise ArchiveInvalid(
                f"segment {checkpoint.segment} holds entries past {checkpoint.seq} (added)"
            )
        if not line.endswith(b"\n"):
            raise ArchiveInvalid(f"audit entry {seq} in {checkpoint.segment} is incomplete")
        try:
            prev = check_line(line, seq, prev)
        except AuditChainBroken:
            raise ArchiveInvalid(
                f"audit entry {seq} in {checkpoint.segment} does not verify: "
                "an entry was edited, removed or reordered"
            ) from None
        entry = json.loads(line)
        if holds_card_data(entry):
            raise ArchiveInvalid(f"audit entry {seq} in {checkpoint.segment} holds a card number")
        out.append(entry)
    if seq < checkpoint.seq:
        raise ArchiveInvalid(
            f"truncated: segment {checkpoint.segment} ends at entry {seq}, but checkpoint "
            f"{checkpoint.file_name} signed at {checkpoint.time} covers entries up to "
            f"{checkpoint.seq} ({checkpoint.seq - seq} missing)"
        )
    if prev != checkpoint.hash:
        raise ArchiveInvalid(f"audit entry {seq} is not the one checkpoint {seq} signed")
    return prev


def _live_log(log: Path, newest: Checkpoint, archived: list[dict[str, Any]]) -> int:
    """Check a live log copy against the archive; the number of its entries past it."""
    seq, prev = 0, GENESIS
    try:
        with open_regular(log) as f:
            for line in f:
                seq += 1
                if not line.endswith(b"\n"):
                    raise ArchiveInvalid(f"audit entry {seq} of {log} is incomplete")
                try:
                    prev = check_line(line, seq, prev)
                except AuditChainBroken:
                    raise ArchiveInvalid(
                        f"audit entry {seq} of {log} does not verify: "
                        "an entry was edited, removed or reordered"
                    ) from None
                entry = json.loads(line)
                if holds_card_data(entry):
                    raise ArchiveInvalid(f"audit entry {seq} of {log} holds a card number")
                if seq == newest.seq and prev != newest.hash:
                    raise ArchiveInvalid(f"audit entry {seq} of {log} is not the one checkpointed")
                if seq > newest.seq:
                    archived.append(entry)
    except OSError as exc:
        raise ArchiveInvalid(f"cannot read {log}: {exc.strerror}") from None
    if seq < newest.seq:
        raise ArchiveInvalid(
            f"truncated: {log} ends at entry {seq}, but checkpoint {newest.file_name} signed "
            f"at {newest.time} covers entries up to {newest.seq} ({newest.seq - seq} removed)"
        )
    return seq - newest.seq
