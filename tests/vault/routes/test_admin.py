"""POST /admin/v1/commands: signed operator commands for keys, the breaker and spend caps."""

from __future__ import annotations

import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from vault.app import create_app

VISA = "4242424242424242"


def key_versions(vault) -> dict[str, int]:
    engine = create_engine(vault.settings.db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT token, key_version FROM cards")).all()
    engine.dispose()
    return {token: version for token, version in rows}


def rewrap_all(vault, batch: int = 7) -> None:
    while True:
        result = vault.command("rewrap", batch=batch).json()
        if result["remaining"] == 0:
            return


def test_rotate_while_tokenising_then_rewrap_leaves_every_card_readable(vault) -> None:
    tokens: list[str] = []
    stop = threading.Event()

    def tokenise(n: int) -> None:
        for _ in range(n):
            tokens.append(vault.token(vault.number("4"), key="pk_live"))
        while not stop.is_set():  # keep the vault busy through the rewrap as well
            tokens.append(vault.token(vault.number("5"), key="pk_live"))

    workers = [threading.Thread(target=tokenise, args=(8,)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for expected in (2, 3):
        while len(tokens) < 6 * (expected - 1):
            time.sleep(0.01)
        assert vault.command("rotate_key").json() == {"action": "rotate_key", "current": expected}
    rewrap_all(vault)
    stop.set()
    for worker in workers:
        worker.join()
    rewrap_all(vault)  # cards tokenised under an old version during the first pass
    versions = key_versions(vault)
    assert sorted(versions) == sorted(tokens) and len(tokens) >= 24  # none lost
    assert set(versions.values()) == {3}
    assert vault.command("retire_keys", below=3).status_code == 200
    for n, token in enumerate(tokens):
        result = vault.charge(token, charge_id=f"ch_{n}", live=True).json()
        assert result["status"] == "succeeded", result  # each PAN still decrypts
    outcomes = [e["outcome"] for e in vault.audit_entries() if e["actor"] == "operator"]
    assert "current:v2" in outcomes and "current:v3" in outcomes and "below:v3" in outcomes


def test_a_version_still_in_use_cannot_be_retired(sqlite_vault) -> None:
    token = sqlite_vault.token(VISA)
    sqlite_vault.command("rotate_key")
    refused = sqlite_vault.command("retire_keys", below=2)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "keys_in_use"
    assert sqlite_vault.charge(token).json()["status"] == "succeeded"
    rewrap_all(sqlite_vault)
    assert sqlite_vault.command("retire_keys", below=2).status_code == 200
    assert sqlite_vault.charge(token, "ch_2").json()["status"] == "succeeded"
    assert sqlite_vault.command("retire_keys", below=3).status_code == 409  # v2 in use


def test_rotate_and_rewrap_on_transit(sqlite_vault, openbao) -> None:
    url, token = openbao
    settings = sqlite_vault.settings.model_copy(
        update={
            "key_provider": "transit",
            "transit_url": url,
            "transit_token": SecretStr(token),
            "transit_key": f"vault-{time.monotonic_ns()}",
            "data_dir": sqlite_vault.settings.data_dir.with_name("transit-data"),
            # A vault of its own: custody is recorded per vault and never changed.
            "database_url": f"sqlite:///{sqlite_vault.settings.data_dir.parent}/transit.db",
        }
    )
    with TestClient(create_app(settings)) as client:
        sqlite_vault.client, sqlite_vault.settings = client, settings
        sqlite_vault.register(sqlite_vault.marketplace, [sqlite_vault.keys["pk_test"]])
        before = sqlite_vault.token(VISA)
        assert sqlite_vault.command("rotate_key").json()["current"] == 2
        after = sqlite_vault.token(VISA)
        assert set(key_versions(sqlite_vault).values()) == {1, 2}
        rewrap_all(sqlite_vault)
        assert set(key_versions(sqlite_vault).values()) == {2}
        sqlite_vault.command("retire_keys", below=2)
        for n, card in enumerate((before, after)):
            assert sqlite_vault.charge(card, f"ch_t{n}").json()["status"] == "succeeded"


@pytest.mark.parametrize(
    "change",
    [
        {"expires_at": 1},  # expired
        {"expires_at": int(time.time()) + 3600},  # valid for too long
        {"nonce": "short"},
        {"extra": 1},
        {"command": {"action": "drop_everything"}},
        {"command": {"action": "set_limit", "scope": "*", "window": "day", "amount": 1}},
        {"command": {"action": "breaker", "scope": "*", "open": 1}},
    ],
)
def test_malformed_expired_or_long_lived_commands_are_refused(sqlite_vault, change) -> None:
    from tests.vault.conftest import signed_command

    fields = {"command": {"action": "rotate_key"}, **change}
    body = signed_command(sqlite_vault.audience(), **fields)
    response = sqlite_vault.client.post("/admin/v1/commands", json=body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "command_refused"
    assert sqlite_vault.audit_entries()[-1]["outcome"] == "refused:invalid"


def test_a_command_signed_by_another_key_or_replayed_is_refused(sqlite_vault) -> None:
    from tests.vault.conftest import signed_command

    audience = sqlite_vault.audience()
    stranger = signed_command(
        audience, Ed25519PrivateKey.generate(), command={"action": "rotate_key"}
    )
    response = sqlite_vault.client.post("/admin/v1/commands", json=stranger)
    assert response.status_code == 403
    assert "signature" in response.json()["error"]["message"]
    body = signed_command(audience, command={"action": "breaker", "scope": "*", "open": False})
    assert sqlite_vault.client.post("/admin/v1/commands", json=body).status_code == 200
    replay = sqlite_vault.client.post("/admin/v1/commands", json=body)
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "command_replayed"


def test_a_vault_without_an_operator_key_runs_no_command(sqlite_vault) -> None:
    settings = sqlite_vault.settings.model_copy(update={"operator_public_key": None})
    with TestClient(create_app(settings)) as client:
        sqlite_vault.client = client
        response = sqlite_vault.command("breaker", scope="*", open=False)
    assert response.status_code == 403


def test_the_breaker_stops_live_charges_and_leaves_test_charges(vault, network) -> None:
    live = vault.token(vault.number("4"), key="pk_live")
    test = vault.token(VISA)
    assert vault.command("breaker", scope="*", open=True).status_code == 200
    refused = vault.charge(live, "ch_live", live=True)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "breaker_open"
    assert network.received == []
    assert vault.charge(test, "ch_test").json()["status"] == "succeeded"
    vault.command("breaker", scope="*", open=False)
    assert vault.charge(live, "ch_live2", live=True).json()["status"] == "succeeded"
    vault.command("breaker", scope=vault.marketplace, open=True)
    assert vault.charge(live, "ch_live3", live=True).json()["error"]["code"] == "breaker_open"


def test_a_cap_once_passed_refuses_until_the_operator_raises_it(vault, network) -> None:
    tokens = [vault.token(vault.number("4"), key="pk_live") for _ in range(4)]
    vault.command("set_limit", scope=vault.marketplace, window="minute", amount=1500)
    assert vault.charge(tokens[0], "ch_1", live=True).json()["status"] == "succeeded"
    refused = vault.charge(tokens[1], "ch_2", live=True)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "spend_limit_reached"
    # Tripped: even a charge within the cap is refused until an operator acts.
    small = vault.post_charge(vault.charge_body(tokens[2], "ch_3", live=True, amount=10), True)
    assert small.status_code == 403
    assert len(network.received) == 1
    vault.command("set_limit", scope=vault.marketplace, window="minute", amount=10_000)
    assert vault.charge(tokens[3], "ch_4", live=True).json()["status"] == "succeeded"
    vault.command("set_limit", scope="*", window="total", amount=2500)
    assert vault.charge(tokens[1], "ch_5", live=True).json()["error"]["code"] == (
        "spend_limit_reached"
    )
    outcomes = [e["outcome"] for e in vault.audit_entries()]
    assert "refused:spend_limit_reached" in outcomes and "total:2500:*" in outcomes


def test_a_declined_live_charge_still_counts_against_the_caps(vault, network) -> None:
    tokens = [vault.token(vault.number("4"), key="pk_live") for _ in range(2)]
    vault.command("set_limit", scope=vault.marketplace, window="minute", amount=1500)
    network.reply = {"approved": False, "code": "card_declined"}
    assert vault.charge(tokens[0], "ch_1", live=True).json()["status"] == "failed"
    network.reset()
    refused = vault.charge(tokens[1], "ch_2", live=True)  # 1,000 declined + 1,000 > 1,500
    assert refused.json()["error"]["code"] == "spend_limit_reached"
    assert len(network.received) == 0


def test_concurrent_live_charges_never_pass_a_cap_together(vault, network) -> None:
    tokens = [vault.token(vault.number("4"), key="pk_live") for _ in range(8)]
    vault.command("set_limit", scope="*", window="minute", amount=3000)
    results: list[int] = []

    def charge(n: int) -> None:
        results.append(vault.charge(tokens[n], f"ch_{n}", live=True).status_code)

    threads = [threading.Thread(target=charge, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(200) == 3 and len(network.received) == 3


def test_one_merchant_cannot_trip_the_global_cap_for_every_other(sqlite_vault, network) -> None:
    sqlite_vault.register("mkt_gamma", [sqlite_vault.keys["gamma_pk_live"]])
    own = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live")
    huge = sqlite_vault.charge_body(own, "ch_huge", live=True, amount=60_000_000)
    refused = sqlite_vault.post_charge(huge, live=True)  # above the global minute cap itself
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "amount"
    # Bursts past its own cap (5,000,000 a minute) trip the marketplace, never the platform.
    burst = [sqlite_vault.token(sqlite_vault.number("4"), key="pk_live") for _ in range(3)]
    answers = [
        sqlite_vault.post_charge(
            sqlite_vault.charge_body(t, f"ch_b{n}", live=True, amount=2_400_000), live=True
        ).status_code
        for n, t in enumerate(burst)
    ]
    assert answers == [200, 200, 403]
    assert network.received and all(
        m["merchant"] == sqlite_vault.marketplace for m in network.received
    )
    other = sqlite_vault.tokenise(sqlite_vault.number("5"), key="gamma_pk_live")
    assert other.status_code == 201, other.text
    card = other.json()["id"]
    body = sqlite_vault.charge_body(card, "ch_other", live=True)
    body["marketplace"] = "mkt_gamma"
    signed = {k: v for k, v in body.items() if k != "clearance"}
    body["clearance"] = sqlite_vault.sign(**signed, **sqlite_vault.card_facts(card), livemode=True)
    answer = sqlite_vault.post_charge(body, live=True)
    assert answer.status_code == 200 and answer.json()["status"] == "succeeded"
