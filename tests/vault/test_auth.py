"""Reading credentials from the Authorization header."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert

from vault import auth
from vault.audit import AuditLog, Refusals
from vault.auth import MerchantKeys, ServiceCredentials, merchant_key_from
from vault.crypto.keyed_hash import api_key_hash
from vault.errors import AuthenticationFailed
from vault.store.db import make_engine
from vault.store.migrate import upgrade_to_head
from vault.store.models import MerchantKey


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer pk_test_abc", "pk_test_abc"),
        ("bearer   pk_test_abc ", "pk_test_abc"),
        (basic("pk_test_abc"), "pk_test_abc"),
        (basic("pk_test_abc", "ignored"), "pk_test_abc"),
        ("Bearer", None),
        (basic(""), None),
        ("Basic %%%", None),
        ("Digest pk_test_abc", None),
        (None, None),
        ("", None),
    ],
)
def test_the_merchant_key_is_the_bearer_token_or_the_basic_user_name(
    header: str | None, key: str | None
) -> None:
    assert merchant_key_from(header) == key


def test_service_credentials_map_to_their_mode(tmp_path: Path) -> None:
    refusals = Refusals(AuditLog(tmp_path / "audit.log"))
    credentials = ServiceCredentials("test-credential-000", "live-credential-000", refusals)
    assert credentials.livemode("Bearer test-credential-000") is False
    assert credentials.livemode("Bearer live-credential-000") is True
    for header in (
        None,
        "",
        "Bearer ",
        "Bearer test-credential-00",
        "Basic test-credential-000",
        "test-credential-000",
    ):
        with pytest.raises(AuthenticationFailed):
            credentials.livemode(header)
    outcomes = [json.loads(line)["outcome"] for line in (tmp_path / "audit.log").open()]
    assert outcomes == ["refused:invalid_credential"] * 6  # audited, never what was presented


def test_refused_credentials_are_audited_at_most_so_often_and_the_rest_counted(
    tmp_path: Path,
) -> None:
    refusals = Refusals(AuditLog(tmp_path / "audit.log"), limit=3)
    credentials = ServiceCredentials("test-credential-000", "live-credential-000", refusals)
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            credentials.livemode("Bearer guess-000000000000")
    lines = (tmp_path / "audit.log").read_text()
    assert len(lines.splitlines()) == 3 and "guess" not in lines


def test_a_refused_merchant_key_is_audited_without_the_key(sqlite_vault) -> None:
    headers = {"Authorization": "Bearer pk_test_someoneElsesKey000000"}
    response = sqlite_vault.client.post("/v1/cards", json={}, headers=headers)
    assert response.status_code == 401
    last = sqlite_vault.audit_entries()[-1]
    assert (last["actor"], last["action"], last["outcome"]) == (
        "merchant:unknown",
        "authenticate",
        "refused:invalid_api_key",
    )
    assert "someoneElses" not in sqlite_vault.settings.audit_path.read_text()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


SECRET = b"key-hash-secret-0123456789"
KEY = "pk_live_cachedKeyForAuthTests00"


def set_key(engine: Engine, expires_at: int | None) -> None:
    """The key's row as another vault process or the `strongroom` command would write it."""
    row = {
        "key_hash": api_key_hash(SECRET, KEY),
        "marketplace_id": "mkt_cache",
        "livemode": True,
        "kind": "publishable",
        "created_at": 1,
        "expires_at": expires_at,
    }
    with engine.begin() as conn:
        conn.execute(delete(MerchantKey))
        conn.execute(insert(MerchantKey), row)


def test_a_kept_key_is_refused_once_expired_here_or_elsewhere(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = MerchantKeys(engine, SECRET, Refusals(AuditLog(tmp_path / "audit.log")))
    with pytest.raises(AuthenticationFailed):
        keys.authenticate(f"Bearer {KEY}")
    set_key(engine, None)
    # An unknown key is never kept: registered now, it is accepted at once.
    assert keys.authenticate(f"Bearer {KEY}").actor == "merchant:mkt_cache:publishable:live"
    set_key(engine, int(time.time()) - 1)
    keys.forget()  # this process recorded the expiry
    with pytest.raises(AuthenticationFailed):
        keys.authenticate(f"Bearer {KEY}")
    set_key(engine, None)  # (never done: an expiry is not lifted; it stands for a new key)
    keys.forget()
    monkeypatch.setattr(auth, "CACHE_SECONDS", 0.0)  # kept rows lapse at once
    keys.authenticate(f"Bearer {KEY}")
    set_key(engine, int(time.time()) - 1)  # by another process: no forget() here
    with pytest.raises(AuthenticationFailed):
        keys.authenticate(f"Bearer {KEY}")


def test_a_kept_key_with_a_later_expiry_stops_at_that_expiry(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = MerchantKeys(engine, SECRET, Refusals(AuditLog(tmp_path / "audit.log")))
    now = time.time()
    set_key(engine, int(now) + 60)
    keys.authenticate(f"Bearer {KEY}")
    monkeypatch.setattr(time, "time", lambda: now + 61)
    with pytest.raises(AuthenticationFailed):
        keys.authenticate(f"Bearer {KEY}")
