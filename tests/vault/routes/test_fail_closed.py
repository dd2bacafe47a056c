"""If the audit log cannot be written, the vault refuses the operation and changes nothing."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

VISA = "4242424242424242"


def rows(vault, table: str) -> int:
    engine = create_engine(vault.settings.db_url)
    with engine.connect() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
    engine.dispose()
    return int(count or 0)


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


@contextmanager
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every write to the audit log fails with ENOSPC, as on a full disk."""
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if b'"hash"' in data:  # an audit entry; other writes go through
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", write)
        yield


@pytest.mark.parametrize("failure", ["read_only", "full_disk"])
def test_an_unwritable_audit_log_refuses_tokenising_and_stores_nothing(
    vault, failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = vault.settings.audit_path.read_bytes()
    broken = (
        read_only(vault.settings.audit_path) if failure == "read_only" else full_disk(monkeypatch)
    )
    with broken:
        response = vault.tokenise(VISA)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_unavailable"
    assert rows(vault, "cards") == 0
    assert vault.settings.audit_path.read_bytes() == before
    assert vault.tokenise(VISA).status_code == 201  # and it serves again once it can audit


@pytest.mark.parametrize("failure", ["read_only", "full_disk"])
def test_an_unwritable_audit_log_refuses_a_charge_before_any_money_moves(
    vault, network, failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    broken = (
        read_only(vault.settings.audit_path) if failure == "read_only" else full_disk(monkeypatch)
    )
    with broken:
        response = vault.charge(token, "ch_blocked", live=True)
    assert response.status_code == 503
    assert network.received == []
    assert rows(vault, "charges") == 0
    assert vault.charge(token, "ch_blocked", live=True).json()["status"] == "succeeded"
