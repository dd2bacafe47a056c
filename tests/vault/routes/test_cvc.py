"""A CVC is kept until the first authorisation or its time limit, whichever comes first."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from vault.app import create_app


def cvc_of(vault, token: str) -> bytes | None:
    engine = create_engine(vault.settings.db_url)
    with engine.connect() as conn:
        sealed = conn.execute(
            text("SELECT cvc_ciphertext FROM cards WHERE token = :t"), {"t": token}
        ).scalar()
    engine.dispose()
    return None if sealed is None else bytes(sealed)


def test_an_unused_cvc_is_destroyed_after_its_time_and_that_is_audited(vault) -> None:
    with TestClient(create_app(vault.settings.model_copy(update={"cvc_ttl": 1}))) as client:
        vault.client = client
        token = vault.token(vault.number("4"), key="pk_live")
        assert cvc_of(vault, token) is not None
        deadline = time.monotonic() + 10
        while cvc_of(vault, token) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
    assert cvc_of(vault, token) is None
    entries = [(e["action"], e["token"], e["outcome"]) for e in vault.audit_entries()]
    assert ("destroy_cvc", token, "expired") in entries


def test_a_cvc_past_its_time_is_never_sent(sqlite_vault, network) -> None:
    settings = sqlite_vault.settings.model_copy(update={"cvc_ttl": 3})
    with TestClient(create_app(settings)) as client:
        sqlite_vault.client = client
        fresh = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live", cvc="321")
        sqlite_vault.charge(fresh, "ch_fresh", live=True)
        old = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live", cvc="654")
        time.sleep(3.1)
        assert sqlite_vault.charge(old, "ch_old", live=True).json()["status"] == "succeeded"
    assert network.received[0]["cvc"] == "321"
    assert "cvc" not in network.received[1]


def database_files(vault) -> list[Path]:
    db = Path(vault.settings.db_url.removeprefix("sqlite:///"))
    return [db, *(db.with_name(db.name + s) for s in ("-wal", "-journal", "-shm"))]


def test_no_byte_of_a_destroyed_cvc_is_left_in_the_database_its_wal_or_journal(
    sqlite_vault, network
) -> None:
    tokens = [sqlite_vault.token(sqlite_vault.number("4"), key="pk_live") for _ in range(3)]
    sealed = [cvc_of(sqlite_vault, token) for token in tokens]
    assert all(sealed)
    files = database_files(sqlite_vault)
    assert any(s in files[1].read_bytes() for s in sealed if s)  # in the WAL, as written
    for n, token in enumerate(tokens):
        sqlite_vault.charge(token, f"ch_{n}", live=True)
    assert [cvc_of(sqlite_vault, token) for token in tokens] == [None, None, None]
    for path in files:
        raw = path.read_bytes() if path.exists() else b""
        for ciphertext in sealed:
            assert ciphertext and ciphertext not in raw, path.name
            assert ciphertext[:12] not in raw, path.name  # not even a part of it


def test_a_cvc_restored_from_a_snapshot_is_never_sent_again(sqlite_vault, network) -> None:
    token = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live", cvc="468")
    engine = create_engine(sqlite_vault.settings.db_url)
    with engine.connect() as conn:
        snapshot = conn.execute(
            text("SELECT cvc_nonce, cvc_ciphertext, created_at FROM cards WHERE token = :t"),
            {"t": token},
        ).one()
    sqlite_vault.charge(token, "ch_first", live=True)
    # The snapshot's CVC put back, its record made to look younger (so within its TTL for
    # longer); put back as it was, the TTL alone ends its use.
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE cards SET cvc_nonce = :n, cvc_ciphertext = :c, created_at = :t "
                "WHERE token = :token"
            ),
            {"n": snapshot[0], "c": snapshot[1], "t": snapshot[2] + 5, "token": token},
        )
    engine.dispose()
    response = sqlite_vault.charge(token, "ch_again", live=True)
    assert response.status_code == 500 and response.json()["error"]["code"] == "record_integrity"
    assert [m.get("cvc") for m in network.received] == ["468"]
