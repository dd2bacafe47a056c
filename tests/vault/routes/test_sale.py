"""A charge with `capture`: authorised and captured in one network message (a sale), the
capture recorded with the charge's outcome, replayed and re-driven as one."""

from __future__ import annotations

from typing import Any

VISA = "4242424242424242"
DECLINED = "4000000000000002"


def sale(vault, token: str, charge_id: str = "ch_1", live: bool = False, **clearance: Any):
    body = vault.charge_body(token, charge_id, live=live, clearance=clearance or None)
    return vault.post_charge({**body, "capture": True}, live=live)


def state(vault, charge_id: str = "ch_1", live: bool = False) -> dict[str, Any]:
    credential = vault.live_credential if live else vault.test_credential
    response = vault.client.get(
        f"/internal/v1/charges/{charge_id}",
        params={"marketplace": vault.marketplace},
        headers={"Authorization": f"Bearer {credential}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def capture(vault, charge_id: str, amount: int, live: bool = False):
    credential = vault.live_credential if live else vault.test_credential
    return vault.client.post(
        f"/internal/v1/charges/{charge_id}/capture",
        json={"marketplace": vault.marketplace, "amount": amount},
        headers={"Authorization": f"Bearer {credential}"},
    )


def test_a_live_sale_is_one_network_message_and_records_the_capture(vault, network) -> None:
    token = vault.token(vault.number("4"), key="pk_live")
    result = sale(vault, token, live=True)
    assert result.status_code == 200, result.text
    assert result.json() == {
        "charge_id": "ch_1",
        "status": "succeeded",
        "authorization_code": "NET123",
        "amount_captured": 1000,
        "livemode": True,
    }
    assert [m["capture"] for m in network.received] == [True]
    assert network.settled == []  # no capture message of its own
    assert state(vault, live=True)["settlement"] == {
        "action": "capture",
        "status": "succeeded",
        "amount": 1000,
    }
    # The API's retry of the charge, and a capture asked apart, are replays: nothing is sent.
    assert sale(vault, token, live=True).json() == result.json()
    assert capture(vault, "ch_1", 1000, live=True).json()["status"] == "succeeded"
    assert len(network.received) == 1 and network.settled == []
    entries = [(e["action"], e["outcome"]) for e in vault.audit_entries()]
    assert ("charge", "succeeded") in entries and ("capture", "succeeded") in entries


def test_a_declined_sale_captures_nothing(sqlite_vault, network) -> None:
    token = sqlite_vault.token(DECLINED)
    result = sale(sqlite_vault, token).json()
    assert (result["status"], result.get("amount_captured")) == ("failed", None)
    assert "settlement" not in state(sqlite_vault)


def test_a_test_mode_sale_captures_without_the_network(sqlite_vault, network) -> None:
    token = sqlite_vault.token(VISA)
    assert sale(sqlite_vault, token).json()["amount_captured"] == 1000
    assert state(sqlite_vault)["settlement"]["status"] == "succeeded"
    assert network.received == []


def test_without_capture_a_charge_only_authorises(sqlite_vault, network) -> None:
    token = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live")
    result = sqlite_vault.charge(token, live=True).json()
    assert "amount_captured" not in result
    assert "capture" not in network.received[0]
    assert "settlement" not in state(sqlite_vault, live=True)


def test_a_charge_held_for_review_is_never_captured_with_its_authorisation(
    sqlite_vault, network
) -> None:
    token = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live")
    refused = sale(sqlite_vault, token, live=True, decision="review")
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "approval_required"
    assert network.received == []


def test_a_sale_left_processing_by_a_crash_is_redriven_as_a_sale(sqlite_vault, network) -> None:
    token = sqlite_vault.token(sqlite_vault.number("4"), key="pk_live")
    network.status = 500  # answered, but not usably: left processing for the completer
    assert sale(sqlite_vault, token, live=True).status_code == 503
    assert state(sqlite_vault, live=True)["status"] == "processing"
    network.status = 200
    sqlite_vault.lapse("charges")
    sqlite_vault.client.app_state["services"].charges.complete_abandoned()
    shown = state(sqlite_vault, live=True)
    assert (shown["status"], shown["settlement"]) == (
        "succeeded",
        {"action": "capture", "status": "succeeded", "amount": 1000},
    )
    assert {m["capture"] for m in network.received} == {True}
    assert network.settled == []
