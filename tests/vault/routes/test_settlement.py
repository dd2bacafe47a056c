"""Capture, void, refund and charge state: once-only, within the authorisation, by mode."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

VISA = "4242424242424242"
DECLINED = "4000000000000002"


def post(vault, path: str, body: dict[str, object], live: bool = False):
    credential = vault.live_credential if live else vault.test_credential
    return vault.client.post(path, json=body, headers={"Authorization": f"Bearer {credential}"})


def capture(vault, charge_id: str, amount: int, live: bool = False, marketplace=None):
    body = {"marketplace": marketplace or vault.marketplace, "amount": amount}
    return post(vault, f"/internal/v1/charges/{charge_id}/capture", body, live)


def refund(vault, refund_id: str, charge_id: str, amount: int, live: bool = False):
    body = {
        "refund_id": refund_id,
        "charge_id": charge_id,
        "marketplace": vault.marketplace,
        "amount": amount,
    }
    return post(vault, "/internal/v1/refunds", body, live)


def state(vault, charge_id: str, live: bool = False) -> dict[str, Any]:
    credential = vault.live_credential if live else vault.test_credential
    response = vault.client.get(
        f"/internal/v1/charges/{charge_id}",
        params={"marketplace": vault.marketplace},
        headers={"Authorization": f"Bearer {credential}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def authorised(vault, charge_id: str = "ch_1", live: bool = False) -> str:
    token = vault.token(vault.number("4") if live else VISA, key="pk_live" if live else "pk_test")
    assert vault.charge(token, charge_id, live=live).json()["status"] == "succeeded"
    return str(token)


def test_a_test_capture_settles_once_without_the_network(vault, network) -> None:
    authorised(vault)
    first = capture(vault, "ch_1", 600)
    assert first.status_code == 200
    assert first.json() == {
        "charge_id": "ch_1",
        "action": "capture",
        "status": "succeeded",
        "amount": 600,
        "livemode": False,
    }
    assert capture(vault, "ch_1", 600).json() == first.json()
    again = capture(vault, "ch_1", 700)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "charge_already_settled")
    void = post(vault, "/internal/v1/charges/ch_1/void", {"marketplace": vault.marketplace})
    assert void.json()["error"]["code"] == "charge_already_settled"
    assert network.settled == []
    assert state(vault, "ch_1")["settlement"] == {
        "action": "capture",
        "status": "succeeded",
        "amount": 600,
    }


def test_a_capture_cannot_exceed_the_authorisation_nor_settle_a_declined_charge(vault) -> None:
    authorised(vault)
    too_much = capture(vault, "ch_1", 1001)
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (400, "amount_too_large")
    assert vault.charge(vault.token(DECLINED), "ch_declined").json()["status"] == "failed"
    declined = capture(vault, "ch_declined", 1)
    assert (declined.status_code, declined.json()["error"]["code"]) == (
        409,
        "charge_not_authorized",
    )


def test_the_other_mode_and_another_marketplace_see_no_charge(vault) -> None:
    authorised(vault)
    assert capture(vault, "ch_1", 10, live=True).status_code == 404
    assert capture(vault, "ch_1", 10, marketplace=vault.other_marketplace).status_code == 404
    assert refund(vault, "re_1", "ch_1", 10, live=True).status_code == 404
    assert capture(vault, "ch_unknown", 10).status_code == 404


def test_a_live_capture_and_refund_reach_the_network_by_reference_without_card_data(
    vault, network
) -> None:
    authorised(vault, "ch_live", live=True)
    assert capture(vault, "ch_live", 1000, live=True).json()["status"] == "succeeded"
    assert refund(vault, "re_live", "ch_live", 250, live=True).json()["status"] == "succeeded"
    assert network.settled == [
        (
            "captures",
            {
                "reference": "ch_live",
                "merchant": vault.marketplace,
                "amount": 1000,
                "currency": "usd",
            },
        ),
        (
            "refunds",
            {
                "reference": "re_live",
                "authorization": "ch_live",
                "merchant": vault.marketplace,
                "amount": 250,
                "currency": "usd",
            },
        ),
    ]
    pan = network.received[0]["pan"]
    assert all(pan not in json.dumps(body) for _, body in network.settled)


def test_a_network_decline_fails_the_capture_and_is_kept(vault, network) -> None:
    authorised(vault, "ch_live", live=True)
    network.settle_reply = {"approved": False, "code": "invalid_capture"}
    result = capture(vault, "ch_live", 1000, live=True).json()
    assert (result["status"], result["failure_code"]) == ("failed", "invalid_capture")
    network.settle_reply = {"approved": True, "code": "approved"}
    assert capture(vault, "ch_live", 1000, live=True).json() == result


def test_a_void_releases_the_authorisation_and_forbids_refunds(vault) -> None:
    authorised(vault)
    void = post(vault, "/internal/v1/charges/ch_1/void", {"marketplace": vault.marketplace})
    assert (void.json()["action"], void.json()["status"], void.json()["amount"]) == (
        "void",
        "succeeded",
        0,
    )
    response = refund(vault, "re_1", "ch_1", 1)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "charge_not_captured")


def test_refunds_add_up_to_the_capture_and_never_beyond(vault) -> None:
    authorised(vault)
    assert refund(vault, "re_0", "ch_1", 1).json()["error"]["code"] == "charge_not_captured"
    capture(vault, "ch_1", 800)
    assert refund(vault, "re_1", "ch_1", 500).json()["status"] == "succeeded"
    assert refund(vault, "re_1", "ch_1", 500).json()["status"] == "succeeded"  # replayed
    reused = refund(vault, "re_1", "ch_1", 100)
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "refund_id_reused")
    over = refund(vault, "re_2", "ch_1", 301)
    assert (over.status_code, over.json()["error"]["code"]) == (409, "amount_too_large")
    assert refund(vault, "re_3", "ch_1", 300).json()["status"] == "succeeded"
    assert state(vault, "ch_1")["amount_refunded"] == 800


def test_concurrent_refunds_never_exceed_the_capture(vault) -> None:
    authorised(vault)
    capture(vault, "ch_1", 1000)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def send(n: int) -> None:
        barrier.wait()
        response = refund(vault, f"re_{n}", "ch_1", 300)
        body = response.json()
        outcomes.append(body["status"] if response.status_code == 200 else body["error"]["code"])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["amount_too_large"] * 5 + ["succeeded"] * 3
    assert state(vault, "ch_1")["amount_refunded"] == 900


def test_a_failed_live_refund_gives_its_reservation_back(vault, network) -> None:
    authorised(vault, "ch_live", live=True)
    capture(vault, "ch_live", 1000, live=True)
    network.settle_reply = {"approved": False, "code": "invalid_refund"}
    assert refund(vault, "re_1", "ch_live", 1000, live=True).json()["status"] == "failed"
    network.settle_reply = {"approved": True, "code": "approved"}
    assert refund(vault, "re_2", "ch_live", 1000, live=True).json()["status"] == "succeeded"


def test_settlement_is_audited_by_token_and_outcome(vault) -> None:
    token = authorised(vault)
    capture(vault, "ch_1", 1000)
    refund(vault, "re_1", "ch_1", 1)
    refund(vault, "re_2", "ch_1", 5000)
    entries = [json.loads(line) for line in vault.settings.audit_path.read_text().splitlines()]
    seen = [(e["action"], e["token"], e["outcome"]) for e in entries[-6:]]
    assert seen == [
        ("capture", token, "attempt"),
        ("capture", token, "succeeded"),
        ("refund", token, "attempt"),
        ("refund", token, "succeeded"),
        ("refund", token, "attempt"),
        ("refund", token, "refused:amount_too_large"),
    ]


@pytest.mark.parametrize("charge_id", ["ch:1", "x" * 65])
def test_a_malformed_charge_id_is_404(sqlite_vault, charge_id: str) -> None:
    response = capture(sqlite_vault, charge_id, 1)
    assert response.status_code == 404


def test_a_capture_that_surely_never_left_can_be_asked_again_or_voided(
    sqlite_vault, settings_factory
) -> None:
    from starlette.testclient import TestClient

    from vault.app import create_app

    authorised(sqlite_vault, "ch_a", live=True)
    down = sqlite_vault.settings.model_copy(update={"network_url": "http://127.0.0.1:9"})
    with TestClient(create_app(down)) as client:
        lost = client.post(
            "/internal/v1/charges/ch_a/capture",
            json={"marketplace": sqlite_vault.marketplace, "amount": 500},
            headers={"Authorization": f"Bearer {sqlite_vault.live_credential}"},
        ).json()
    assert (lost["status"], lost["failure_code"]) == ("failed", "processing_error")
    body = {"marketplace": sqlite_vault.marketplace}
    void = post(sqlite_vault, "/internal/v1/charges/ch_a/void", body, live=True).json()
    assert (void["action"], void["status"]) == ("void", "succeeded")


def test_a_capture_whose_answer_was_lost_is_asked_again_until_answered(
    sqlite_vault, network
) -> None:
    authorised(sqlite_vault, "ch_b", live=True)
    network.lose_next = 2
    assert capture(sqlite_vault, "ch_b", 500, live=True).json()["status"] == "succeeded"
    network.settle_status = 502  # every answer lost: left processing, never called failed
    authorised(sqlite_vault, "ch_c", live=True)
    response = capture(sqlite_vault, "ch_c", 500, live=True)
    assert (response.status_code, response.json()["error"]["code"]) == (
        503,
        "network_unavailable",
    )
    assert state(sqlite_vault, "ch_c", live=True)["settlement"]["status"] == "processing"
    network.settle_status = 200
    sqlite_vault.lapse("settlements")
    assert capture(sqlite_vault, "ch_c", 500, live=True).json()["status"] == "succeeded"
    kinds = [(kind, body["reference"]) for kind, body in network.settled]
    assert kinds == [("captures", "ch_b")] * 3 + [("captures", "ch_c")] * 5


def test_a_settlement_left_processing_by_a_crash_is_finished_by_the_completer(
    sqlite_vault, network
) -> None:
    from sqlalchemy import create_engine, text

    authorised(sqlite_vault, "ch_c", live=True)
    engine = create_engine(sqlite_vault.settings.db_url)
    with engine.begin() as conn:  # as a vault killed after the network captured leaves it
        conn.execute(
            text(
                "INSERT INTO settlements (charge_id, action, amount, amount_refunded, status, "
                "created_at) VALUES ('ch_c', 'capture', 400, 0, 'processing', 0)"
            )
        )
    engine.dispose()
    sqlite_vault.client.app_state["settlement"].service.complete_abandoned()
    settled = state(sqlite_vault, "ch_c", live=True)["settlement"]
    assert settled == {"action": "capture", "status": "succeeded", "amount": 400}
    assert network.settled[-1] == (
        "captures",
        {
            "reference": "ch_c",
            "merchant": sqlite_vault.marketplace,
            "amount": 400,
            "currency": "usd",
        },
    )
    entries = [(e["action"], e["actor"], e["outcome"]) for e in sqlite_vault.audit_entries()]
    assert ("capture", "vault", "redrive") in entries
    assert ("capture", "vault", "succeeded") in entries


def test_a_refund_whose_answer_was_lost_is_finished_and_shown_in_the_charge_state(
    sqlite_vault, network
) -> None:
    authorised(sqlite_vault, "ch_r", live=True)
    assert capture(sqlite_vault, "ch_r", 1000, live=True).json()["status"] == "succeeded"
    network.settle_status = 502
    assert refund(sqlite_vault, "re_lost", "ch_r", 300, live=True).status_code == 503
    shown = state(sqlite_vault, "ch_r", live=True)
    assert shown["refunds"] == [{"refund_id": "re_lost", "status": "processing", "amount": 300}]
    assert shown["amount_refunded"] == 0
    network.settle_status = 200
    sqlite_vault.lapse("refunds")
    sqlite_vault.client.app_state["settlement"].service.complete_abandoned()
    shown = state(sqlite_vault, "ch_r", live=True)
    assert shown["refunds"] == [{"refund_id": "re_lost", "status": "succeeded", "amount": 300}]
    assert shown["amount_refunded"] == 300
    again = refund(sqlite_vault, "re_lost", "ch_r", 300, live=True).json()
    assert again["status"] == "succeeded"


def test_a_refused_capture_shows_its_failure_code_in_the_charge_state(vault, network) -> None:
    authorised(vault, "ch_refused", live=True)
    network.settle_reply = {"approved": False, "code": "invalid_capture"}
    assert capture(vault, "ch_refused", 1000, live=True).json()["status"] == "failed"
    assert state(vault, "ch_refused", live=True)["settlement"] == {
        "action": "capture",
        "status": "failed",
        "amount": 1000,
        "failure_code": "invalid_capture",
    }


def test_polling_a_charge_state_is_audited_once_per_reader_and_charge(sqlite_vault) -> None:
    token = authorised(sqlite_vault, "ch_polled")
    authorised(sqlite_vault, "ch_other")
    before = len(sqlite_vault.audit_entries())
    for _ in range(10):
        state(sqlite_vault, "ch_polled")
    state(sqlite_vault, "ch_other")
    reads = [
        (e["actor"], e["token"], e["outcome"])
        for e in sqlite_vault.audit_entries()[before:]
        if e["action"] == "read_charge"
    ]
    assert reads[0] == ("service:test", token, "ok")
    assert len(reads) == 2  # one for ch_polled's ten reads, one for ch_other
