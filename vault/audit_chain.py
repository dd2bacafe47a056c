"""The audit log's format and its verification: hash-chained JSON lines.

Each line is one entry: {seq, time, actor, action, token, outcome, prev_hash, hash}, where
hash = SHA-256(prev_hash + canonical JSON of the entry without `hash`) and the first
prev_hash is 64 zeros. Editing, removing or reordering any entry breaks every later hash.
Removing the newest entries leaves a valid shorter chain: that is caught by comparing with
an anchor, a (seq, hash) of the log kept elsewhere (the vault's database, an export).

Standard library only, so that the security team can check an exported log on any machine:
`python3 audit_chain.py EXPORTED_LOG [SEQ HASH]`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


class AuditChainBroken(Exception):
    """The log does not verify; the vault does not start or append on it (fail closed)."""


@dataclass(frozen=True, slots=True)
class Head:
    """The newest entry's seq and hash, and the log's identity: the hash of its first entry."""

    seq: int
    hash: str
    chain: str | None


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """The chained hash of an entry body (every field but `hash`)."""
    return hashlib.sha256((prev_hash + canonical(body)).encode()).hexdigest()


def entry_line(
    seq: int, time: str, actor: str, action: str, token: str | None, outcome: str, prev_hash: str
) -> tuple[str, str]:
    """(hash, line) of a new entry: the line is `canonical` of the entry, hash included.

    Spelled out field by field in canonical order (keys sorted, no spaces, json.dumps'
    escapes), so that each entry is serialised once, not twice through a sorting encoder;
    `check_line` verifies the result as it verifies any line.
    """
    text = json.dumps
    head = f'{{"action":{text(action)},"actor":{text(actor)},'
    tail = (
        f'"outcome":{text(outcome)},"prev_hash":{text(prev_hash)},"seq":{seq:d},'
        f'"time":{text(time)},"token":{text(token)}}}'
    )
    hash_ = hashlib.sha256((prev_hash + head + tail).encode()).hexdigest()
    return hash_, f'{head}"hash":"{hash_}",{tail}\n'


def check_line(line: bytes, seq: int, prev_hash: str) -> str:
    """The hash of `line` if it is entry number `seq` chained to `prev_hash`.

    The raw bytes are checked, not only what they parse to: a line must be exactly the
    canonical JSON of its entry, so other spacing, escapes or a duplicated key (which a
    parser would silently resolve) do not verify.
    """
    try:
        entry = json.loads(line)
        body = {k: v for k, v in entry.items() if k != "hash"}
        ok = line.removesuffix(b"\n") == canonical(entry).encode() and well_formed(entry)
        ok = ok and entry["seq"] == seq and entry["prev_hash"] == prev_hash
        ok = ok and entry["hash"] == entry_hash(prev_hash, body)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        ok = False
    if not ok:
        raise AuditChainBroken(f"audit entry {seq} does not verify")
    return str(entry["hash"])


_TEXT = ("actor", "action", "outcome", "time")
_FIELDS = {"seq", "token", "prev_hash", "hash", *_TEXT}


def well_formed(entry: Any) -> bool:
    """Exactly an entry's fields, each of its type: seq an integer (not true), time an ISO
    8601 instant, actor, action and outcome text, token text or null, hashes hex SHA-256.
    A line that chains but holds anything else is no entry this log's writer made."""
    if not isinstance(entry, dict) or set(entry) != _FIELDS:
        return False
    if type(entry["seq"]) is not int or not all(isinstance(entry[k], str) for k in _TEXT):
        return False
    if entry["token"] is not None and not isinstance(entry["token"], str):
        return False
    hashes = (entry["prev_hash"], entry["hash"])
    if not all(isinstance(h, str) and len(h) == 64 and h == h.lower() for h in hashes):
        return False
    try:
        bytes.fromhex(entry["prev_hash"] + entry["hash"])
        dt.datetime.fromisoformat(entry["time"])
    except ValueError:
        return False
    return True


def verify_chain(path: Path, anchors: dict[str, tuple[int, str]] | None = None) -> Head:
    """The head of the log after checking every link, and that it reaches its anchor.

    `anchors` maps a log's identity to a (seq, hash) recorded elsewhere; a log that has
    none there, when others do, had its first entry changed or is not the one anchored.
    """
    seq, prev_hash, chain, anchored = 0, GENESIS, None, None
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                raise AuditChainBroken(f"audit entry {seq + 1} is incomplete")
            seq += 1
            prev_hash = check_line(line, seq, prev_hash)
            if seq == 1:
                chain = prev_hash
                anchored = (anchors or {}).get(chain)
            if anchored is not None and anchored[0] == seq and anchored[1] != prev_hash:
                raise AuditChainBroken(f"audit entry {seq} is not the one anchored")
    if anchors and anchored is None:
        raise AuditChainBroken("no anchor knows this log: its first entry changed")
    if anchored is not None and anchored[0] > seq:
        raise AuditChainBroken(f"the log ends at entry {seq}, before its anchor")
    return Head(seq, prev_hash, chain)


def main(argv: list[str]) -> int:
    """Verify an exported log, and optionally that it reaches a (seq, hash) known elsewhere."""
    path = Path(argv[1])
    try:
        with path.open("rb") as f:
            first = f.readline()
        chain = check_line(first, 1, GENESIS) if first else ""
        anchors = {chain: (int(argv[2]), argv[3])} if len(argv) == 4 else None
        head = verify_chain(path, anchors)
    except (AuditChainBroken, OSError, ValueError) as exc:
        print(f"FAILED: {exc}")
        return 1
    print(f"OK: {head.seq} entries, newest hash {head.hash}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
