"""The audit archive's writer: closed log segments and their signed checkpoints.

At a fixed interval, and when the vault stops, every entry appended since the last round is
copied into a new segment file, and a checkpoint of the chain's head is signed over it:

    ARCHIVE/segments/000000000001-000000000158.log   entries 1..158, as the log has them
    ARCHIVE/checkpoints/000000000158.json            seq 158, its hash, the time, signed

Files are created once and never rewritten (the Object Lock bucket of production enforces
it; locally it is this writer's discipline). The archive is what the security team
verifies (vault_audit.verify), with the checkpoint public key and nothing else.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.audit_chain import GENESIS, AuditChainBroken, check_line
from vault_audit.checkpoint import (
    Checkpoint,
    CheckpointInvalid,
    checkpoint_name,
    key_id,
    open_checkpoint,
    segment_name,
    sign,
)
from vault_audit.verify import holds_card_data

log = logging.getLogger("vault.audit")


class AuditArchive:
    """Archives the log at `log_path` into `archive_dir`, signing with `key`."""

    def __init__(self, log_path: Path, archive_dir: Path, key: Ed25519PrivateKey) -> None:
        self._log_path, self._key = log_path, key
        self._segments, self._checkpoints = archive_dir / "segments", archive_dir / "checkpoints"
        for directory in (archive_dir, self._segments, self._checkpoints):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._seq, self._hash, self._chain, self._previous = 0, GENESIS, "", GENESIS
        newest = self._newest()
        if newest is not None:
            checkpoint, data = newest
            self._seq, self._hash, self._chain = checkpoint.seq, checkpoint.hash, checkpoint.chain
            self._previous = hashlib.sha256(data).hexdigest()
        # Fail closed: a live log that no longer holds what was checkpointed was cut or edited.
        self._offset = self._offset_after(self._seq, self._hash)

    def _newest(self) -> tuple[Checkpoint, bytes] | None:
        names = sorted(p.name for p in self._checkpoints.glob("*.json"))
        if not names:
            return None
        data = (self._checkpoints / names[-1]).read_bytes()
        try:
            return open_checkpoint(self._key.public_key(), data), data
        except CheckpointInvalid as exc:
            raise AuditChainBroken(f"the archive's newest checkpoint {names[-1]}: {exc}") from None

    def _offset_after(self, seq: int, hash_: str) -> int:
        """The byte offset just past entry `seq` of the live log, which must hash to `hash_`."""
        offset, prev = 0, GENESIS
        with self._log_path.open("rb") as f:
            for n in range(1, seq + 1):
                line = f.readline()
                if not line.endswith(b"\n"):
                    raise AuditChainBroken(
                        f"the audit log ends at entry {n - 1}, before its checkpoint at {seq}"
                    )
                prev = check_line(line, n, prev)
                offset += len(line)
        if prev != hash_:
            raise AuditChainBroken(f"audit entry {seq} is not the one checkpointed")
        return offset

    def checkpoint(self) -> Checkpoint | None:
        """Archive the entries appended since the last round and sign their head; None if none."""
        with self._lock, _locked(self._checkpoints.parent / ".lock"):
            # Another vault process sharing this log may have archived some entries already.
            newest = self._newest()
            data = self._read_new()
            lines = data.splitlines(keepends=True)
            if newest is not None and newest[0].seq > self._seq:
                done = newest[0].seq - self._seq
                self._advance(b"".join(lines[:done]))
                if self._hash != newest[0].hash:
                    raise AuditChainBroken(f"audit entry {self._seq} is not the one checkpointed")
                self._previous = hashlib.sha256(newest[1]).hexdigest()
                lines = lines[done:]
            if not lines:
                return None
            return self._close(b"".join(lines))

    def _advance(self, data: bytes) -> None:
        """Move past `data`, whole entries that follow the archived ones, checking each."""
        seq, hash_ = self._seq, self._hash  # moved past only once every entry checks
        for line in data.splitlines(keepends=True):
            seq += 1
            hash_ = check_line(line, seq, hash_)
            if holds_card_data(json.loads(line)):  # made by hand: the writer refuses one
                raise AuditChainBroken(f"audit entry {seq} holds a card number")
            if seq == 1:
                self._chain = hash_
        self._seq, self._hash = seq, hash_
        self._offset += len(data)

    def _close(self, data: bytes) -> Checkpoint:
        """Write `data` as a segment and sign the checkpoint that closes it."""
        first = self._seq + 1
        self._advance(data)
        segment = segment_name(first, self._seq)
        _create(self._segments / segment, data)
        checkpoint = Checkpoint(
            version=1,
            chain=self._chain,
            seq=self._seq,
            hash=self._hash,
            time=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            first=first,
            segment=segment,
            segment_sha256=hashlib.sha256(data).hexdigest(),
            previous=self._previous,
            key=key_id(self._key.public_key()),
        )
        signed = sign(self._key, checkpoint)
        _create(self._checkpoints / checkpoint_name(self._seq), signed)
        self._previous = hashlib.sha256(signed).hexdigest()
        return checkpoint

    def _read_new(self) -> bytes:
        """Whole entries appended after the archived ones, read under the writers' lock."""
        fd = os.open(self._log_path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # writers append whole batches under LOCK_EX
            size = os.fstat(fd).st_size
            if size < self._offset:
                raise AuditChainBroken("the audit log shrank below its last checkpoint")
            data = os.pread(fd, size - self._offset, self._offset)
        finally:
            os.close(fd)
        return data[: data.rfind(b"\n") + 1]


def checkpoint_or_log(archive: AuditArchive) -> None:
    """Archive new audit entries under a signed checkpoint (the vault's periodic job)."""
    try:
        archive.checkpoint()
    except Exception as exc:
        # The entries stay in the fsynced log and the next round archives them; the
        # verifier reports whatever no checkpoint covers yet as unprovable.
        log.error("audit checkpoint failed: %s: %s", type(exc).__name__, exc)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive flock on `path`: one archive writer at a time, across processes."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _create(path: Path, data: bytes) -> None:
    """Write a new archive file whole (a temporary name, fsync, rename), never replacing one."""
    if path.exists():
        raise AuditChainBroken(f"{path.name} is already in the archive")
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.link(tmp, path)  # fails if the name exists: no file of the archive is ever replaced
    tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
