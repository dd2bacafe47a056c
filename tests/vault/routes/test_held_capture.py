"""A charge fraud held for review is captured only with fraud's approval clearance."""

from __future__ import annotations

import time
from typing import Any

import pytest

VISA = "4242424242424242"


def held(vault, charge_id: str = "ch_held", live: bool = False) -> str:
    """A charge authorised under a `review` clearance: fraud held it."""
    token = vault.token(vault.number("4") if live else VISA, key="pk_live" if live else "pk_test")
    body = vault.charge_body(token, charge_id, live=live, clearance={"decision": "review"})
    answer = vault.post_charge(body, live=live)
    assert answer.json()["status"] == "succeeded", answer.json()
    return str(token)


def approval(vault, token: str, charge_id: str = "ch_held", live: bool = False, **changes: Any):
    """Fraud's approval as POST /v1/approvals signs it: an `allow` for the same charge."""
    fields = {
        "charge_id": charge_id,
        "card": token,
        "marketplace": vault.marketplace,
        "amount": 1000,
        "currency": "usd",
        "livemode": live,
        **vault.card_facts(token),
        **changes,
    }
    return vault.sign(**fields)


def capture(vault, amount: int = 1000, clearance=None, live: bool = False, charge_id="ch_held"):
    body: dict[str, Any] = {"marketplace": vault.marketplace, "amount": amount}
    if clearance is not None:
        body["clearance"] = clearance
    credential = vault.live_credential if live else vault.test_credential
    return vault.client.post(
        f"/internal/v1/charges/{charge_id}/capture",
        json=body,
        headers={"Authorization": f"Bearer {credential}"},
    )


def test_a_held_charge_is_not_captured_without_an_approval(vault, network) -> None:
    token = held(vault, live=True)
    refused = capture(vault, live=True)
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "approval_required"
    assert network.settled == []  # nothing reached the network
    assert vault.audit_entries()[-1]["outcome"] == "refused:approval_required"
    void = vault.client.post(
        "/internal/v1/charges/ch_held/void",
        json={"marketplace": vault.marketplace},
        headers={"Authorization": f"Bearer {vault.live_credential}"},
    )
    assert void.json()["status"] == "succeeded"  # releasing the hold needs no approval
    assert token


def test_a_held_charge_is_captured_with_fraud_s_approval_and_replayed_after(vault, network):
    token = held(vault, live=True)
    done = capture(vault, clearance=approval(vault, token, live=True), live=True)
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "succeeded"
    assert [kind for kind, _ in network.settled] == ["captures"]
    # A replay of the executed capture moves nothing: answered, approval or not.
    assert capture(vault, live=True).json() == done.json()
    expired = approval(vault, token, live=True, expires_at=int(time.time()) - 5)
    assert capture(vault, clearance=expired, live=True).json() == done.json()
    assert len(network.settled) == 1


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": 999}, "amount"),
        ({"charge_id": "ch_other"}, "charge_id"),
        ({"decision": "review"}, "approves nothing"),
        ({"expires_at": 1}, "expired"),
        ({"expires_at": 10**10}, "longer"),
        ({"livemode": True}, "livemode"),
        ({"last4": "0000"}, "not the one fraud assessed"),
    ],
)
def test_an_approval_for_anything_else_is_refused(sqlite_vault, changes, reason) -> None:
    token = held(sqlite_vault)
    refused = capture(sqlite_vault, clearance=approval(sqlite_vault, token, **changes))
    assert refused.status_code == 403, refused.json()
    assert refused.json()["error"]["code"] == "clearance_invalid"
    assert reason in refused.json()["error"]["message"]
    # The hold is still there to approve properly.
    assert capture(sqlite_vault, clearance=approval(sqlite_vault, token)).status_code == 200


def test_an_approval_signed_by_another_key_is_refused(sqlite_vault) -> None:
    token = held(sqlite_vault)
    forged = approval(sqlite_vault, token)
    forged["signature"] = forged["signature"][::-1]
    refused = capture(sqlite_vault, clearance=forged)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "clearance_invalid")


def test_a_charge_fraud_allowed_needs_no_approval_but_a_given_one_must_verify(
    sqlite_vault,
) -> None:
    token = sqlite_vault.token(VISA)
    assert sqlite_vault.charge(token, "ch_allowed").json()["status"] == "succeeded"
    wrong = approval(sqlite_vault, token, "ch_allowed", amount=5)
    refused = capture(sqlite_vault, clearance=wrong, charge_id="ch_allowed")
    assert refused.status_code == 403
    assert capture(sqlite_vault, charge_id="ch_allowed").json()["status"] == "succeeded"
