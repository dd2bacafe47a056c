"""An append-only, hash-chained JSON-lines audit log of every access to card data.

Each line is one entry: {seq, time, actor, action, token, outcome, prev_hash, hash}, where
hash = SHA-256(prev_hash + canonical JSON of the entry without `hash`). Editing, removing
or reordering any entry breaks every later hash. Writers take an exclusive flock, so the
server and the `strongroom` command can append to one log.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from vault.errors import AuditUnavailable

log = logging.getLogger("vault.audit")

GENESIS = "0" * 64
_TAIL_BYTES = 65536  # an entry is a few hundred bytes; the last one is within this
_DIGIT_RUN = re.compile(r"\d{12,}")


class AuditChainBroken(Exception):
    """The log on disk does not verify; the vault does not start on it (fail closed)."""


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """The chained hash of an entry body (every field but `hash`)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _check(line: bytes, seq: int, prev_hash: str) -> str:
    """The hash of `line` if it is entry number `seq` chained to `prev_hash`."""
    try:
        entry = json.loads(line)
        body = {k: v for k, v in entry.items() if k != "hash"}
        ok = entry["seq"] == seq and entry["prev_hash"] == prev_hash
        ok = ok and entry["hash"] == entry_hash(prev_hash, body)
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise AuditChainBroken(f"audit entry {seq} does not verify")
    return str(entry["hash"])


def verify_chain(path: Path) -> int:
    """The number of entries, after checking every link of the chain."""
    seq, prev_hash = 0, GENESIS
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                raise AuditChainBroken(f"audit entry {seq + 1} is incomplete")
            seq += 1
            prev_hash = _check(line, seq, prev_hash)
    return seq


def _last_entry(fd: int, size: int) -> tuple[int, str]:
    """(seq, hash) of the last entry, itself verified; (0, GENESIS) for an empty log."""
    if size == 0:
        return 0, GENESIS
    tail = os.pread(fd, min(size, _TAIL_BYTES), max(0, size - _TAIL_BYTES))
    lines = tail.split(b"\n")
    if lines[-1] != b"" or len(lines) < 2:
        raise AuditChainBroken("the last audit entry is incomplete")
    entry = json.loads(lines[-2])
    return int(entry["seq"]), _check(lines[-2], int(entry["seq"]), str(entry["prev_hash"]))


class AuditLog:
    """Appends entries durably, or raises AuditUnavailable so the caller does nothing."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        verify_chain(path)  # never extend a chain that is already broken
        self._path = path
        self._lock = threading.Lock()

    def append(self, actor: str, action: str, token: str | None, outcome: str) -> None:
        """Write one entry and fsync it before returning."""
        fields = (actor, action, token or "", outcome)
        if any(_DIGIT_RUN.search(field) for field in fields):
            # Twelve digits in a row could be part of a card number: refuse to write it.
            raise ValueError("refusing to write a long digit run into the audit log")
        with self._lock:
            try:
                self._append_locked(actor, action, token, outcome)
            except (OSError, ValueError, KeyError, TypeError, AuditChainBroken) as exc:
                log.error("audit log write failed: %s", type(exc).__name__)
                raise AuditUnavailable() from None

    def _append_locked(self, actor: str, action: str, token: str | None, outcome: str) -> None:
        fd = os.open(self._path, os.O_RDWR | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # other processes append to this file too
            size = os.fstat(fd).st_size
            seq, prev_hash = _last_entry(fd, size)
            body = {
                "seq": seq + 1,
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "actor": actor,
                "action": action,
                "token": token,
                "outcome": outcome,
                "prev_hash": prev_hash,
            }
            entry = {**body, "hash": entry_hash(prev_hash, body)}
            line = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
            try:
                if os.write(fd, line) != len(line):
                    raise OSError("short write to the audit log")
                os.fsync(fd)  # the entry is on disk before the operation proceeds
            except OSError:
                os.ftruncate(fd, size)  # leave no partial entry to break the chain
                raise
        finally:
            os.close(fd)  # also releases the flock
