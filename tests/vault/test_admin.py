"""register_marketplace: the keys the CLI hands over, stored only as HMACs."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from vault.admin import key_kind, register_marketplace

KEYS = ["pk_test_0123456789abcdefXYZ", "sk_live_0123456789abcdefXYZ"]


def test_keys_are_stored_as_hmacs_with_marketplace_mode_and_kind(
    database_url: str, settings_factory
) -> None:
    settings = settings_factory(database_url=database_url)
    register_marketplace(settings, "mkt_alpha", KEYS)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT key_hash, marketplace_id, livemode, kind FROM merchant_keys")
        ).all()
    engine.dispose()
    assert sorted((r[1], bool(r[2]), r[3]) for r in rows) == [
        ("mkt_alpha", False, "publishable"),
        ("mkt_alpha", True, "secret"),
    ]
    assert all(len(r[0]) == 32 and KEYS[0].encode() not in bytes(r[0]) for r in rows)


def test_registering_again_is_idempotent_but_a_key_cannot_change_marketplace(
    sqlite_url: str, settings_factory
) -> None:
    settings = settings_factory(database_url=sqlite_url)
    register_marketplace(settings, "mkt_alpha", KEYS)
    register_marketplace(settings, "mkt_alpha", KEYS)
    with pytest.raises(ValueError, match="another marketplace"):
        register_marketplace(settings, "mkt_beta", KEYS[:1])


def test_registration_is_audited_without_the_keys(sqlite_url: str, settings_factory) -> None:
    settings = settings_factory(database_url=sqlite_url)
    register_marketplace(settings, "mkt_alpha", KEYS)
    log = settings.audit_path.read_text()
    assert "mkt_alpha:publishable:test" in log and "mkt_alpha:secret:live" in log
    assert all(key not in log for key in KEYS)


@pytest.mark.parametrize(
    "key",
    [
        "pk_test_short",
        "xk_test_0123456789abcdef",
        "pk_prod_0123456789abcdef",
        "pk_test_0123456789abcd ef",
    ],
)
def test_malformed_keys_are_refused_without_quoting_them(key: str) -> None:
    with pytest.raises(ValueError) as caught:
        key_kind(key)
    assert key not in str(caught.value)


@pytest.mark.parametrize("marketplace", ["", "mkt:alpha", "m" * 65, "mkt alpha"])
def test_malformed_marketplace_ids_are_refused(
    sqlite_url: str, settings_factory, marketplace: str
) -> None:
    with pytest.raises(ValueError):
        register_marketplace(settings_factory(database_url=sqlite_url), marketplace, KEYS)


def test_the_default_store_is_created_in_the_data_dir(settings_factory) -> None:
    settings = settings_factory()
    register_marketplace(settings, "mkt_alpha", KEYS)
    assert (settings.data_dir / "vault" / "vault.db").exists()
    assert settings.data_dir.joinpath("vault").stat().st_mode & 0o777 == 0o700
