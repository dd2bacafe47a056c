"""Rolling a key: the new one works at once, the old one until its overlap ends."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from api.marketplaces.admin import roll_key
from tests.api.conftest import Stacks


def status(stacks: Stacks, key: str) -> int:
    with stacks.client(key) as client:
        return client.get("/v1/marketplace").status_code


def test_a_rolled_key_overlaps_then_stops(stacks: Stacks) -> None:
    # On PostgreSQL the stack caches looked-up keys: the roll, made here in another process,
    # reaches it by NOTIFY, and the old key stops as soon as the roll returns.
    shop = stacks.marketplace()
    settings = stacks.settings["test"]
    new = "sk_test_" + "n" * 32
    assert roll_key(settings, shop.sk_test, new, dt.timedelta(hours=1)) == shop.id
    assert status(stacks, shop.sk_test) == 200  # in its overlap
    assert status(stacks, shop.sk_test) == 200
    assert status(stacks, new) == 200
    newer = "sk_test_" + "m" * 32
    roll_key(settings, shop.sk_test, newer, dt.timedelta(0))
    assert status(stacks, shop.sk_test) == 401  # expired now
    assert status(stacks, newer) == 200
    with pytest.raises(ValueError, match="unknown or has expired"):
        roll_key(settings, shop.sk_test, "sk_test_" + "o" * 32, dt.timedelta(hours=1))


def test_a_key_rolls_only_into_one_of_its_kind_and_mode(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    settings = sqlite_stacks.settings["test"]
    for wrong in ("pk_test_" + "p" * 32, "sk_live_" + "l" * 32):
        with pytest.raises(ValueError):
            roll_key(settings, shop.sk_test, wrong, dt.timedelta(hours=1))


def test_an_unknown_key_is_401_in_the_envelope(sqlite_stacks: Stacks) -> None:
    response = httpx.get(
        sqlite_stacks.urls["api-test"] + "/v1/marketplace",
        headers={"authorization": "Bearer sk_test_unknown"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_strongroom_marketplace_roll_key_replaces_a_key_in_the_stack_and_the_vault(
    sqlite_stacks: Stacks, tmp_path, monkeypatch
) -> None:
    from click.testing import CliRunner

    from strongroom.cli import main

    # Through the admin interfaces alone: URLs, the admin credential and the operator key.
    key_file = tmp_path / "operator.key"
    key_file.write_text(sqlite_stacks.secrets.operator_signing_key)
    key_file.chmod(0o600)
    monkeypatch.setenv(
        "STRONGROOM_API_ADMIN_CREDENTIAL", sqlite_stacks.secrets.api_admin_credential
    )
    urls = sqlite_stacks.urls
    where = [
        *("--api-test-url", urls["api-test"], "--api-live-url", urls["api-live"]),
        *("--vault-url", urls["vault"], "--operator-key", str(key_file)),
        *("--data-dir", str(tmp_path / "none")),
    ]
    runner = CliRunner()
    made = runner.invoke(main, ["marketplace", "create", "Roll", *where])
    assert made.exit_code == 0, made.output
    old = next(w for w in made.output.split() if w.startswith("pk_live_"))
    rolled = runner.invoke(main, ["marketplace", "roll-key", old, "--overlap", "0", *where])
    assert rolled.exit_code == 0, rolled.output
    new = rolled.stdout.strip()
    assert new.startswith("pk_live_") and new != old
    again = runner.invoke(main, ["marketplace", "roll-key", old, *where])
    assert again.exit_code != 0 and "unknown or has expired" in again.output
