"""POST /internal/v1/charges: clearance, once-only execution, test simulator, live network."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from vault.app import create_app
from vault.domain.test_network import TEST_CARDS

VISA = "4242424242424242"


def test_test_cards_get_their_documented_outcomes_without_the_network(vault, network) -> None:
    expected = {
        "4242424242424242": ("succeeded", None),
        "4000000000000002": ("failed", "card_declined"),
        "4000000000009995": ("failed", "insufficient_funds"),
    }
    for n, (number, (status, code)) in enumerate(expected.items()):
        response = vault.charge(vault.token(number), charge_id=f"ch_{n}")
        assert response.status_code == 200
        result = response.json()
        assert (result["status"], result.get("failure_code"), result["livemode"]) == (
            status,
            code,
            False,
        )
        assert result["charge_id"] == f"ch_{n}"
        if status == "succeeded":
            assert len(result["authorization_code"]) == 6
            assert "failure_message" not in result
        else:
            assert "authorization_code" not in result
            assert result["failure_message"]
    assert network.received == []


def test_every_test_card_gets_its_documented_outcome(sqlite_vault) -> None:
    for n, (number, decline) in enumerate(TEST_CARDS.items()):
        cvc = "1234" if number.startswith("37") else "123"
        result = sqlite_vault.charge(sqlite_vault.token(number, cvc=cvc), f"ch_{n}").json()
        assert result["status"] == ("failed" if decline else "succeeded"), number
        assert result.get("failure_code") == decline


def test_a_repeated_charge_id_returns_the_first_result_without_executing_again(
    vault, network
) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    body = vault.charge_body(token, "ch_once", live=True)
    first = vault.post_charge(body, live=True)
    network.reply = {"approved": False, "code": "card_declined"}
    second = vault.post_charge(body, live=True)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["authorization_code"] == "NET123"
    assert len(network.received) == 1


def test_a_charge_id_reused_for_another_amount_is_409(vault) -> None:
    token = vault.token(VISA)
    assert vault.charge(token, "ch_reuse").status_code == 200
    response = vault.post_charge(vault.charge_body(token, "ch_reuse", amount=5))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "charge_id_reused"


def test_concurrent_duplicates_execute_once(vault, network) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    body = vault.charge_body(token, "ch_race", live=True)
    network.delay = 0.3
    responses = []

    def send() -> None:
        responses.append(vault.post_charge(body, live=True))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(network.received) == 1
    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 200 and set(codes) <= {200, 409}
    assert all(
        r.json()["error"]["code"] == "charge_in_progress" for r in responses if r.status_code == 409
    )


def test_a_card_of_another_marketplace_is_404(vault) -> None:
    token = vault.token(VISA, key="other_pk_test")
    response = vault.charge(token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"


def test_the_other_modes_credential_cannot_charge_a_card_it_does_not_own(vault, network) -> None:
    test_token = vault.token(VISA)
    live_token = vault.token(vault.number("4"), key="pk_live")
    assert vault.charge(test_token, "ch_a", live=True).status_code == 404
    assert vault.charge(live_token, "ch_b", live=False).status_code == 404
    assert network.received == []


def test_a_clearance_for_the_other_mode_is_403(vault) -> None:
    token = vault.token(VISA)
    body = vault.charge_body(token, clearance={"livemode": True})
    response = vault.post_charge(body)  # test credential, live clearance
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "clearance_invalid"
    assert "livemode" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 1001},
        {"currency": "eur"},
        {"charge_id": "ch_other"},
        {"expires_at": 1},
        {"decision": "block"},
    ],
)
def test_a_clearance_that_does_not_match_the_charge_is_403(sqlite_vault, change) -> None:
    token = sqlite_vault.token(VISA)
    response = sqlite_vault.post_charge(sqlite_vault.charge_body(token, clearance=change))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "clearance_invalid"


def test_the_cvc_is_destroyed_after_the_first_attempt_and_not_sent_again(vault, network) -> None:
    token = vault.token(vault.number("4"), key="pk_live", cvc="737")
    network.reply = {"approved": False, "code": "insufficient_funds"}
    declined = vault.charge(token, "ch_1", live=True).json()
    assert (declined["status"], declined["failure_code"]) == ("failed", "insufficient_funds")
    network.reply = {"approved": True, "code": "approved", "authorization_code": "OK42"}
    approved = vault.charge(token, "ch_2", live=True).json()
    assert approved["status"] == "succeeded"
    assert network.received[0]["cvc"] == "737"
    assert "cvc" not in network.received[1]
    engine = create_engine(vault.settings.db_url)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT cvc_nonce, cvc_ciphertext, pan_ciphertext FROM cards WHERE token = :t"),
            {"t": token},
        ).one()
    engine.dispose()
    assert row[0] is None and row[1] is None and row[2] is not None


def test_the_cvc_is_destroyed_after_a_test_mode_charge_too(sqlite_vault) -> None:
    token = sqlite_vault.token(VISA)
    sqlite_vault.charge(token)
    engine = create_engine(sqlite_vault.settings.db_url)
    with engine.connect() as conn:
        cvc = conn.execute(
            text("SELECT cvc_ciphertext FROM cards WHERE token = :t"), {"t": token}
        ).scalar()
    engine.dispose()
    assert cvc is None
    actions = [
        line
        for line in sqlite_vault.settings.audit_path.read_text().splitlines()
        if "destroy_cvc" in line
    ]
    assert len(actions) == 1


def test_live_charges_send_the_card_to_the_network(vault, network) -> None:
    number = vault.number("5")
    token = vault.token(number, key="pk_live", cvc="321")
    response = vault.charge(token, "ch_live", live=True)
    assert response.json() == {
        "charge_id": "ch_live",
        "status": "succeeded",
        "authorization_code": "NET123",
        "livemode": True,
    }
    assert network.received == [
        {
            "reference": "ch_live",
            "merchant": vault.marketplace,
            "pan": number,
            "exp_month": 12,
            "exp_year": vault.next_year,
            "cvc": "321",
            "amount": 1000,
            "currency": "usd",
        }
    ]
    assert network.headers == [f"Bearer {vault.network_credential}"]


def test_a_network_error_answer_leaves_the_charge_processing_for_the_completer(
    sqlite_vault, network
) -> None:
    token = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live")
    network.status = 500  # the network may have authorised: the vault does not guess
    response = sqlite_vault.charge(token, live=True)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "network_unavailable"
    assert len(network.received) == 4  # asked four times in all, under the one charge id


def test_free_text_codes_from_the_network_are_not_passed_on(sqlite_vault, network) -> None:
    token = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live")
    network.reply = {"approved": False, "code": "Declined: see 4242424242424242"}
    result = sqlite_vault.charge(token, live=True).json()
    assert result["failure_code"] == "card_declined"


def test_an_unreachable_network_is_a_processing_error(
    sqlite_vault, settings_factory, tmp_path: Path
) -> None:
    token = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live")
    body = sqlite_vault.charge_body(token, "ch_down", live=True)
    settings = sqlite_vault.settings.model_copy(update={"network_url": "http://127.0.0.1:9"})
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/internal/v1/charges",
            json=body,
            headers={"Authorization": f"Bearer {sqlite_vault.live_credential}"},
        )
    assert (response.json()["status"], response.json()["failure_code"]) == (
        "failed",
        "processing_error",
    )


def test_charges_need_a_service_credential(sqlite_vault) -> None:
    token = sqlite_vault.token(VISA)
    body = sqlite_vault.charge_body(token)
    for header in ("", f"Bearer {sqlite_vault.keys['sk_test']}", "Bearer "):
        response = sqlite_vault.client.post(
            "/internal/v1/charges", json=body, headers={"Authorization": header}
        )
        assert response.status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 0},
        {"amount": True},
        {"currency": "USD"},
        {"charge_id": "ch:1"},
        {"livemode": True},
        {"amount": "10"},
    ],
)
def test_malformed_charge_requests_are_400(sqlite_vault, change) -> None:
    body = {**sqlite_vault.charge_body(sqlite_vault.token(VISA)), **change}
    assert sqlite_vault.post_charge(body).status_code == 400


def test_every_charge_step_is_in_the_audit_log(sqlite_vault) -> None:
    token = sqlite_vault.token(VISA)
    sqlite_vault.charge(token)
    sqlite_vault.charge(token)
    entries = [
        json.loads(line) for line in sqlite_vault.settings.audit_path.read_text().splitlines()
    ]
    # The attempt entry names the card it opens: no separate read entry before it.
    assert [(e["action"], e["outcome"]) for e in entries[-4:]] == [
        ("charge", "attempt"),
        ("charge", "succeeded"),
        ("destroy_cvc", "destroyed"),
        ("charge", "replayed"),
    ]
    assert entries[-5]["action"] == "tokenize"
    assert {e["token"] for e in entries[-5:]} == {token}
    assert {e["actor"] for e in entries[-4:]} == {"service:test"}


def test_a_charge_of_an_unknown_card_is_audited_as_a_refused_read(sqlite_vault) -> None:
    response = sqlite_vault.charge("card_unknown00000000000000")
    assert response.status_code == 404
    assert sqlite_vault.audit_entries()[-1]["outcome"] == "not_found"


def test_a_tampered_card_record_is_never_sent_to_the_network(vault, network) -> None:
    first = vault.token(vault.number("4"), key="pk_live")
    second = vault.token(vault.number("5"), key="pk_live")
    engine = create_engine(vault.settings.db_url)
    with engine.begin() as conn:
        # Move the second card's sealed PAN into the first card's row.
        nonce, sealed = conn.execute(
            text("SELECT pan_nonce, pan_ciphertext FROM cards WHERE token = :t"), {"t": second}
        ).one()
        conn.execute(
            text("UPDATE cards SET pan_nonce = :n, pan_ciphertext = :c WHERE token = :t"),
            {"n": nonce, "c": sealed, "t": first},
        )
    engine.dispose()
    response = vault.charge(first, "ch_tampered", live=True)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "record_integrity"
    assert network.received == []
    assert "refused:record_integrity" in vault.settings.audit_path.read_text()


def test_a_clearance_scored_on_other_card_facts_is_refused(vault, network) -> None:
    blocked = vault.token("4100000000000019")  # fraud always blocks it: BIN 410000, 0019
    other = vault.card_facts(vault.token(VISA))  # what a lying app zone would describe
    body = vault.charge_body(blocked, "ch_lie", clearance=other)
    response = vault.post_charge(body)
    assert response.status_code == 403
    assert "not the one fraud assessed" in response.json()["error"]["message"]
    assert vault.audit_entries()[-1]["outcome"] == "refused:clearance_card_mismatch"
    assert vault.charge(blocked, "ch_true").json()["status"] == "succeeded"  # facts of its own


def test_a_ten_year_clearance_is_refused(sqlite_vault) -> None:
    token = sqlite_vault.token(VISA)
    ten_years = int(time.time()) + 10 * 365 * 86400
    body = sqlite_vault.charge_body(token, "ch_long", clearance={"expires_at": ten_years})
    response = sqlite_vault.post_charge(body)
    assert response.status_code == 403 and "longer" in response.json()["error"]["message"]


def test_a_replay_of_an_executed_charge_is_answered_though_its_clearance_expired(vault) -> None:
    token = vault.token(VISA)
    first = vault.charge(token, "ch_replayed")
    assert first.status_code == 200
    gone = {"expires_at": int(time.time()) - 5}
    expired = vault.charge_body(token, "ch_replayed", clearance=gone)
    replay = vault.post_charge(expired)
    assert replay.status_code == 200, replay.json()
    assert replay.json() == first.json()
    assert vault.audit_entries()[-1]["outcome"] == "replayed"


def test_an_expired_clearance_for_a_new_charge_is_still_refused(vault) -> None:
    token = vault.token(VISA)
    expired = vault.charge_body(token, "ch_new", clearance={"expires_at": int(time.time()) - 5})
    response = vault.post_charge(expired)
    assert response.status_code == 403
    assert "expired" in response.json()["error"]["message"]
    assert vault.audit_entries()[-1]["outcome"] == "refused:clearance_invalid"
    state = vault.client.get(
        "/internal/v1/charges/ch_new",
        params={"marketplace": vault.marketplace},
        headers={"Authorization": f"Bearer {vault.test_credential}"},
    )
    assert state.status_code == 404  # nothing executed


@pytest.mark.parametrize(
    "change", [{"amount": 999}, {"charge_id": "ch_else"}, {"card": "card_else"}, "signature"]
)
def test_a_replay_with_an_expired_clearance_must_still_be_signed_for_that_charge(
    sqlite_vault, change
) -> None:
    token = sqlite_vault.token(VISA)
    assert sqlite_vault.charge(token, "ch_bound").status_code == 200
    gone = int(time.time()) - 5
    if change == "signature":
        body = sqlite_vault.charge_body(token, "ch_bound", clearance={"expires_at": gone})
        body["clearance"]["signature"] = body["clearance"]["signature"][::-1]
    else:
        body = sqlite_vault.charge_body(token, "ch_bound", clearance={"expires_at": gone, **change})
    response = sqlite_vault.post_charge(body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "clearance_invalid"
