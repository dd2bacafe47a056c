"""Polled reads are audited once per reader and subject per window, never less."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from settlement.reads import ReadAudit
from vault.audit import AuditLog
from vault.errors import AuditUnavailable


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Read-only even for root (the immutable attribute), as a mount gone read-only is."""
    root = os.geteuid() == 0
    if root:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o400)
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o600)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entries(path: Path) -> list[tuple[Any, ...]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [(r["actor"], r["action"], r["token"], r["outcome"]) for r in rows]


def test_one_entry_per_reader_and_subject_per_window(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    clock = Clock()
    reads = ReadAudit(log, window=60, clock=clock)
    for _ in range(5):
        reads.append("service:live", "read_charge", "card_a", "ch_1")
    reads.append("service:live", "read_charge", "card_b", "ch_2")  # another charge
    reads.append("service:test", "read_charge", "card_a", "ch_1")  # another reader
    reads.append("service:live", "read_refund", "card_a", "ch_1")  # another action
    clock.now += 59.9
    reads.append("service:live", "read_charge", "card_a", "ch_1")
    clock.now += 0.1  # a window after the first entry: a new one, counting what it covered
    reads.append("service:live", "read_charge", "card_a", "ch_1")
    clock.now += 60
    reads.append("service:live", "read_charge", "card_a", "ch_1")
    assert entries(tmp_path / "audit.log") == [
        ("service:live", "read_charge", "card_a", "ok"),
        ("service:live", "read_charge", "card_b", "ok"),
        ("service:test", "read_charge", "card_a", "ok"),
        ("service:live", "read_refund", "card_a", "ok"),
        ("service:live", "read_charge", "card_a", "ok:and_5_repeats"),
        ("service:live", "read_charge", "card_a", "ok"),
    ]


def test_a_read_due_an_entry_the_log_cannot_take_is_refused_and_tried_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    reads = ReadAudit(AuditLog(path), window=60, clock=Clock())
    with read_only(path), pytest.raises(AuditUnavailable):
        reads.append("service:live", "read_charge", "card_a", "ch_1")
    reads.append("service:live", "read_charge", "card_a", "ch_1")  # not covered: written now
    assert entries(path) == [("service:live", "read_charge", "card_a", "ok")]
