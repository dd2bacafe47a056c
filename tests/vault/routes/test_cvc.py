"""A CVC is kept until the first authorisation or its time limit, whichever comes first."""

from __future__ import annotations

import time

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
    settings = sqlite_vault.settings.model_copy(update={"cvc_ttl": 1})
    with TestClient(create_app(settings)) as client:
        sqlite_vault.client = client
        fresh = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live", cvc="321")
        sqlite_vault.charge(fresh, "ch_fresh", live=True)
        old = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live", cvc="654")
        time.sleep(1.1)
        assert sqlite_vault.charge(old, "ch_old", live=True).json()["status"] == "succeeded"
    assert network.received[0]["cvc"] == "321"
    assert "cvc" not in network.received[1]
