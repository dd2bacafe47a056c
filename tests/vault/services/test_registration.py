"""register_keys and expire_key: a marketplace's keys, added and stopped by operator command."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from tests.vault.conftest import register_keys
from vault.app import create_app
from vault_operator.registration import key_kind

NEW_PK = "pk_test_registeredByCommand0000"
NEW_SK_LIVE = "sk_live_registeredByCommand0000"


def tokenise(vault, key: str) -> httpx.Response:
    body = {
        "number": "4242424242424242",
        "exp_month": 12,
        "exp_year": vault.next_year,
        "cvc": "123",
    }
    response: httpx.Response = vault.client.post(
        "/v1/cards", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    return response


def test_registered_keys_tokenise_for_their_marketplace_and_stop_when_expired(vault) -> None:
    assert tokenise(vault, NEW_PK).status_code == 401
    done = vault.command("register_keys", marketplace="mkt_new", keys=[NEW_PK, NEW_SK_LIVE])
    assert done.status_code == 200, done.json()
    assert done.json()["registered"] == 2
    assert tokenise(vault, NEW_PK).status_code == 201
    again = vault.command("register_keys", marketplace="mkt_new", keys=[NEW_PK])
    assert again.status_code == 200  # idempotent for its own marketplace
    expired = vault.command("expire_key", key=NEW_PK, expires_at=int(time.time()) - 1)
    assert expired.status_code == 200 and expired.json()["marketplace"] == "mkt_new"
    assert tokenise(vault, NEW_PK).status_code == 401
    entries = vault.audit_entries()
    outcomes = [(e["action"], e["outcome"]) for e in entries]
    assert ("register_key", "mkt_new:publishable:test") in outcomes
    assert ("register_key", "mkt_new:secret:live") in outcomes
    assert not any(NEW_PK in str(e) or NEW_SK_LIVE in str(e) for e in entries)


def test_a_key_of_another_marketplace_or_unknown_is_refused(vault) -> None:
    vault.command("register_keys", marketplace="mkt_one", keys=[NEW_PK])
    taken = vault.command("register_keys", marketplace="mkt_two", keys=[NEW_PK])
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "key_taken"
    unknown = vault.command("expire_key", key="sk_test_neverRegistered000000", expires_at=1)
    assert unknown.status_code == 404
    malformed = vault.command("register_keys", marketplace="mkt_one", keys=["not-a-key"])
    assert malformed.status_code == 403  # refused as a malformed command, nothing written


def test_a_key_in_its_overlap_tokenises_and_an_expiry_is_never_extended(vault) -> None:
    key = vault.keys["pk_test"]
    assert vault.command("expire_key", key=key, expires_at=int(time.time()) + 3600).is_success
    assert tokenise(vault, key).status_code == 201  # in its overlap
    assert vault.command("expire_key", key=key, expires_at=int(time.time()) - 1).is_success
    assert tokenise(vault, key).status_code == 401
    # Never extended: a later expiry does not revive it.
    assert vault.command("expire_key", key=key, expires_at=int(time.time()) + 3600).is_success
    assert tokenise(vault, key).status_code == 401
    assert tokenise(vault, vault.keys["sk_test"]).status_code == 201


def test_keys_are_stored_as_keyed_hashes_with_marketplace_mode_and_kind(vault) -> None:
    done = vault.command("register_keys", marketplace="mkt_new", keys=[NEW_PK, NEW_SK_LIVE])
    assert done.status_code == 200, done.text
    engine = create_engine(vault.settings.db_url)
    with engine.connect() as conn:
        query = "SELECT key_hash, livemode, kind FROM merchant_keys WHERE marketplace_id = :m"
        rows = conn.execute(text(query), {"m": "mkt_new"}).all()
    engine.dispose()
    assert sorted((bool(r[1]), r[2]) for r in rows) == [(False, "publishable"), (True, "secret")]
    assert all(len(r[0]) == 32 and NEW_PK.encode() not in bytes(r[0]) for r in rows)


@pytest.mark.parametrize(
    "key",
    [
        "pk_test_short",
        "xk_test_0123456789abcdef",
        "pk_prod_0123456789abcdef",
        "pk_test_0123456789abcd ef",
    ],
)
def test_malformed_keys_are_refused_without_quoting_them(sqlite_vault, key: str) -> None:
    with pytest.raises(ValueError) as caught:
        key_kind(key)
    assert key not in str(caught.value)
    refused = sqlite_vault.command("register_keys", marketplace="mkt_new", keys=[key])
    assert refused.status_code == 403 and key not in refused.text
    assert key not in sqlite_vault.settings.audit_path.read_text()


@pytest.mark.parametrize("marketplace", ["", "mkt:alpha", "m" * 65, "mkt alpha"])
def test_malformed_marketplace_ids_are_refused_and_nothing_is_written(
    sqlite_vault, marketplace: str
) -> None:
    refused = sqlite_vault.command("register_keys", marketplace=marketplace, keys=[NEW_PK])
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "command_refused"
    assert tokenise(sqlite_vault, NEW_PK).status_code == 401


def test_a_vault_on_its_default_store_registers_keys_there(settings_factory) -> None:
    settings = settings_factory()
    with TestClient(create_app(settings)) as client:
        register_keys(client, "mkt_alpha", [NEW_PK])
    assert (settings.data_dir / "vault" / "vault.db").exists()
    assert settings.data_dir.joinpath("vault").stat().st_mode & 0o777 == 0o700
