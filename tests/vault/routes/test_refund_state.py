"""GET /internal/v1/refunds/{id}: a refund as the vault recorded it, for a completer."""

from __future__ import annotations

from typing import Any

import pytest

VISA = "4242424242424242"


def post(vault, path: str, body: dict[str, Any], live: bool = False):
    credential = vault.live_credential if live else vault.test_credential
    return vault.client.post(path, json=body, headers={"Authorization": f"Bearer {credential}"})


def read(vault, refund_id: str, live: bool = False, marketplace: str | None = None):
    credential = vault.live_credential if live else vault.test_credential
    return vault.client.get(
        f"/internal/v1/refunds/{refund_id}",
        params={"marketplace": marketplace or vault.marketplace},
        headers={"Authorization": f"Bearer {credential}"},
    )


def captured(vault, charge_id: str, live: bool = False) -> str:
    token = vault.token(vault.number("4") if live else VISA, key="pk_live" if live else "pk_test")
    assert vault.charge(token, charge_id, live=live).json()["status"] == "succeeded"
    body = {"marketplace": vault.marketplace, "amount": 1000}
    assert post(vault, f"/internal/v1/charges/{charge_id}/capture", body, live).status_code == 200
    return str(token)


def refund(vault, refund_id: str, charge_id: str, amount: int, live: bool = False):
    body = {
        "refund_id": refund_id,
        "charge_id": charge_id,
        "marketplace": vault.marketplace,
        "amount": amount,
    }
    return post(vault, "/internal/v1/refunds", body, live)


def test_a_refund_reads_as_recorded_through_processing_to_final(vault, network) -> None:
    captured(vault, "ch_r", live=True)
    network.settle_status = 502  # the answer is lost: the refund stays processing
    assert refund(vault, "re_1", "ch_r", 300, live=True).status_code == 503
    shown = read(vault, "re_1", live=True)
    assert shown.status_code == 200
    assert shown.json() == {
        "refund_id": "re_1",
        "charge_id": "ch_r",
        "status": "processing",
        "amount": 300,
        "livemode": True,
    }
    network.settle_status = 200
    vault.lapse("refunds")
    vault.client.app_state["settlement"].service.complete_abandoned()
    assert read(vault, "re_1", live=True).json()["status"] == "succeeded"


def test_a_failed_refund_reads_with_its_failure_code(vault, network) -> None:
    captured(vault, "ch_f", live=True)
    network.settle_reply = {"approved": False, "code": "refund_declined"}
    assert refund(vault, "re_f", "ch_f", 100, live=True).json()["status"] == "failed"
    shown = read(vault, "re_f", live=True).json()
    assert (shown["status"], shown["failure_code"]) == ("failed", "refund_declined")


def test_another_mode_marketplace_or_an_unknown_refund_is_404_and_audited(sqlite_vault) -> None:
    captured(sqlite_vault, "ch_t")
    assert refund(sqlite_vault, "re_t", "ch_t", 100).json()["status"] == "succeeded"
    assert read(sqlite_vault, "re_t").status_code == 200
    for response in (
        read(sqlite_vault, "re_t", live=True),
        read(sqlite_vault, "re_t", marketplace=sqlite_vault.other_marketplace),
        read(sqlite_vault, "re_unknown"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"
    refused = [e for e in sqlite_vault.audit_entries() if e["action"] == "read_refund"]
    assert [e["outcome"] for e in refused][-3:] == ["refused:not_found"] * 3


@pytest.mark.parametrize("refund_id", ["re:1", "x" * 65])
def test_a_malformed_refund_id_is_404(sqlite_vault, refund_id: str) -> None:
    assert read(sqlite_vault, refund_id).status_code == 404


def test_a_refund_read_needs_a_service_credential(sqlite_vault) -> None:
    response = sqlite_vault.client.get(
        "/internal/v1/refunds/re_1", params={"marketplace": sqlite_vault.marketplace}
    )
    assert response.status_code == 401
