"""If the audit log cannot be written, the vault refuses the operation and changes nothing."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def charge_status(vault, charge_id: str) -> tuple[str, str | None]:
    engine = create_engine(vault.settings.db_url)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, failure_code FROM charges WHERE charge_id = :c"), {"c": charge_id}
        ).one()
    engine.dispose()
    return row[0], row[1]


def test_an_outcome_the_network_gave_is_kept_and_answered_while_the_audit_log_is_blocked(
    vault, network
) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    network.delay = 1.0  # the network holds the request: the log is blocked meanwhile
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(vault.charge(token, "ch_p", live=True)))
    thread.start()
    while not network.received:
        time.sleep(0.01)
    with read_only(vault.settings.audit_path):
        thread.join()
        [response] = answers
        assert response.status_code == 200  # the outcome reaches the caller (the API)
        assert response.json()["status"] == "succeeded"
        assert charge_status(vault, "ch_p") == ("succeeded", None)
        assert rows(vault, "audit_owed") == 2  # the outcome and the CVC's destruction
        refused = vault.tokenise(VISA)  # nothing new starts until the log has caught up
        assert refused.json()["error"]["code"] == "audit_unavailable"
    assert vault.tokenise(VISA).status_code == 201  # the owed entries are written first
    mine = [(e["action"], e["outcome"]) for e in vault.audit_entries() if e["token"] == token]
    assert mine[-3:] == [
        ("charge", "attempt"),
        ("charge", "succeeded"),
        ("destroy_cvc", "destroyed"),
    ]
    assert rows(vault, "audit_owed") == 0


def test_owed_entries_are_written_by_the_catch_up_without_any_new_request(vault, network) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    network.delay = 1.0
    thread = threading.Thread(target=lambda: vault.charge(token, "ch_q", live=True))
    thread.start()
    while not network.received:
        time.sleep(0.01)
    with read_only(vault.settings.audit_path):
        thread.join()
    deadline = time.monotonic() + 10
    while rows(vault, "audit_owed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rows(vault, "audit_owed") == 0
    assert ("charge", "succeeded") in [
        (e["action"], e["outcome"]) for e in vault.audit_entries() if e["token"] == token
    ]


def test_a_charge_answered_leaves_nothing_owed_and_the_anchor_at_its_last_entry(
    vault, network
) -> None:
    # The owed outcome entries are settled in the statement (PostgreSQL) or transaction
    # (SQLite) that moves the anchor to them.
    token = vault.token(vault.number("4"), key="pk_live")
    assert vault.charge(token, "ch_s", live=True).json()["status"] == "succeeded"
    assert rows(vault, "audit_owed") == 0
    last = vault.audit_entries()[-1]
    assert (last["action"], last["outcome"]) == ("destroy_cvc", "destroyed")
    engine = create_engine(vault.settings.db_url)
    with engine.connect() as conn:
        anchored = conn.execute(text("SELECT seq, hash FROM audit_anchors")).all()
    engine.dispose()
    assert [tuple(row) for row in anchored] == [(last["seq"], last["hash"])]


def test_a_lost_authorisation_answer_is_asked_again_under_the_same_charge_id(
    vault, network
) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    network.lose_next = 2  # the network authorises, but its answer is lost twice
    result = vault.charge(token, "ch_lost", live=True).json()
    assert (result["status"], result["authorization_code"]) == ("succeeded", "NET123")
    assert [m["reference"] for m in network.received] == ["ch_lost"] * 3
    assert network.settled == []  # nothing reversed: the network's answer came back


def test_a_charge_the_network_never_answered_is_finished_by_the_completer(vault, network) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    network.status = 502
    response = vault.charge(token, "ch_dark", live=True)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "network_unavailable"
    assert charge_status(vault, "ch_dark") == ("processing", None)
    services = vault.client.app_state["services"]
    vault.lapse("charges")
    services.charges.complete_abandoned()  # the network is still silent
    assert charge_status(vault, "ch_dark") == ("processing", None)
    network.status = 200
    vault.lapse("charges")
    services.charges.complete_abandoned()
    assert charge_status(vault, "ch_dark") == ("succeeded", None)
    assert {m["reference"] for m in network.received} == {"ch_dark"}
    assert "cvc" not in network.received[-1]  # a repeat is sent without the CVC
    replay = vault.charge(token, "ch_dark", live=True).json()
    assert (replay["status"], replay["authorization_code"]) == ("succeeded", "NET123")
    mine = [(e["actor"], e["outcome"]) for e in vault.audit_entries() if e["token"] == token]
    assert ("vault", "redrive") in mine and ("vault", "succeeded") in mine


def test_a_repeated_request_finishes_a_charge_a_crash_left_processing(vault, network) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    network.status = 502
    assert vault.charge(token, "ch_crash", live=True).status_code == 503
    network.status = 200
    vault.lapse("charges")  # as the lease of a vault killed mid-charge ends
    result = vault.charge(token, "ch_crash", live=True).json()
    assert (result["status"], result["authorization_code"]) == ("succeeded", "NET123")
    assert charge_status(vault, "ch_crash") == ("succeeded", None)
