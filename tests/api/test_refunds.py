"""Refunds over HTTP: full and partial, never more than captured, even when concurrent."""

from __future__ import annotations

import threading
from typing import Any

from tests.api.conftest import Stacks


def captured(stacks: Stacks, shop: Any, amount: int = 1000, capture: bool = True) -> str:
    with stacks.client(shop.sk_test) as client:
        body = {"card": stacks.token(shop), "amount": amount, "currency": "usd", "capture": capture}
        charge_id: str = client.post("/v1/charges", json=body).json()["id"]
    return charge_id


def test_partial_refunds_add_up_to_the_capture_and_no_further(stacks: Stacks, shop) -> None:
    charge_id = captured(stacks, shop)
    with stacks.client(shop.sk_test) as client:
        first = client.post("/v1/refunds", json={"charge": charge_id, "amount": 400})
        assert first.status_code == 201, first.text
        assert (first.json()["status"], first.json()["amount"]) == ("succeeded", 400)
        over = client.post("/v1/refunds", json={"charge": charge_id, "amount": 601})
        assert (over.status_code, over.json()["error"]["code"]) == (400, "amount_too_large")
        rest = client.post(
            "/v1/refunds", json={"charge": charge_id, "reason": "requested_by_customer"}
        )
        assert rest.json()["amount"] == 600  # no amount: all that is left
        charge = client.get(f"/v1/charges/{charge_id}").json()
        assert (charge["amount_refunded"], charge["refunded"], charge["status"]) == (
            1000,
            True,
            "succeeded",
        )
        done = client.post("/v1/refunds", json={"charge": charge_id})
        assert (done.status_code, done.json()["error"]["code"]) == (400, "charge_already_refunded")
        listed = client.get("/v1/refunds", params={"charge": charge_id, "expand[]": "data.charge"})
        assert [r["amount"] for r in listed.json()["data"]] == [600, 400]
        assert listed.json()["data"][0]["charge"]["amount_refunded"] == 1000
        types = [
            e["type"]
            for e in client.get("/v1/events", params={"limit": 20}).json()["data"]
            if e["data"]["object"]["id"] in (charge_id, first.json()["id"])
        ]
    assert types.count("charge.refunded") == 2
    assert "refund.created" in types and "refund.succeeded" in types


def test_refunding_an_uncaptured_charge_releases_it_whole(stacks: Stacks, shop) -> None:
    charge_id = captured(stacks, shop, capture=False)
    with stacks.client(shop.sk_test) as client:
        part = client.post("/v1/refunds", json={"charge": charge_id, "amount": 1})
        assert (part.status_code, part.json()["error"]["param"]) == (400, "amount")
        response = client.post("/v1/refunds", json={"charge": charge_id})
        assert response.status_code == 201, response.text
        assert (response.json()["amount"], response.json()["status"]) == (1000, "succeeded")
        charge = client.get(f"/v1/charges/{charge_id}").json()
        assert (charge["captured"], charge["refunded"], charge["amount_refunded"]) == (
            False,
            True,
            1000,
        )
        again = client.post(f"/v1/charges/{charge_id}/capture", json={})
        assert (again.status_code, again.json()["error"]["code"]) == (400, "charge_not_capturable")
        # Released whole once: another release is refused, never a second refund of it all.
        second = client.post("/v1/refunds", json={"charge": charge_id})
        assert (second.status_code, second.json()["error"]["code"]) == (
            400,
            "charge_already_refunded",
        )
        listed = client.get("/v1/refunds", params={"charge": charge_id}).json()["data"]
        assert [(r["amount"], r["status"]) for r in listed] == [(1000, "succeeded")]
        events = client.get("/v1/events", params={"limit": 20}).json()["data"]
    types = [e["type"] for e in events if e["data"]["object"]["id"] in (charge_id, listed[0]["id"])]
    assert "charge.canceled" in types and "refund.created" in types
    # Stripe's event for a released authorisation too, the charge shown refunded whole.
    (refunded,) = [
        e["data"]["object"]
        for e in events
        if e["type"] == "charge.refunded" and e["data"]["object"]["id"] == charge_id
    ]
    assert (refunded["refunded"], refunded["amount_refunded"]) == (True, 1000)


def test_a_canceled_authorisation_is_refunded_already(stacks: Stacks, shop) -> None:
    charge_id = captured(stacks, shop, capture=False)
    with stacks.client(shop.sk_test) as client:
        assert client.post(f"/v1/charges/{charge_id}/cancel").status_code == 200
        refund = client.post("/v1/refunds", json={"charge": charge_id})
    assert (refund.status_code, refund.json()["error"]["code"]) == (400, "charge_already_refunded")


def test_a_partly_captured_charge_refunds_only_what_was_captured(stacks: Stacks, shop) -> None:
    charge_id = captured(stacks, shop, capture=False)
    with stacks.client(shop.sk_test) as client:
        client.post(f"/v1/charges/{charge_id}/capture", json={"amount": 300})
        over = client.post("/v1/refunds", json={"charge": charge_id, "amount": 301})
        assert over.json()["error"]["code"] == "amount_too_large"
        assert client.post("/v1/refunds", json={"charge": charge_id}).json()["amount"] == 300


def test_concurrent_refunds_never_pass_the_capture(stacks: Stacks, shop) -> None:
    charge_id = captured(stacks, shop)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def refund() -> None:
        with stacks.client(shop.sk_test) as client:
            barrier.wait()
            response = client.post("/v1/refunds", json={"charge": charge_id, "amount": 300})
        body = response.json()
        outcomes.append(body["status"] if response.status_code == 201 else body["error"]["code"])

    threads = [threading.Thread(target=refund) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["amount_too_large"] * 3 + ["succeeded"] * 3
    with stacks.client(shop.sk_test) as client:
        assert client.get(f"/v1/charges/{charge_id}").json()["amount_refunded"] == 900


def test_a_live_refund_reaches_the_card_network_by_reference(stacks: Stacks, shop) -> None:
    card = stacks.token(shop, live=True)
    with stacks.client(shop.sk_live) as client:
        charge = client.post("/v1/charges", json={"card": card, "amount": 700, "currency": "gbp"})
        refund = client.post("/v1/refunds", json={"charge": charge.json()["id"], "amount": 200})
    assert refund.json()["status"] == "succeeded"
    refunds = [m for m in stacks.network_messages() if m["kind"] == "refund"]
    assert [(m["reference"], m["authorization"], m["amount"]) for m in refunds][-1] == (
        refund.json()["id"],
        charge.json()["id"],
        200,
    )
