"""Charges over HTTP: authorise and capture, at once or apart; cancel; the state machine."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom import testcards
from tests.api.conftest import Stacks


def charge(stacks: Stacks, shop, status: int = 201, **body: object) -> dict[str, Any]:
    with stacks.client(shop.sk_test) as client:
        response = client.post("/v1/charges", json={"amount": 1000, "currency": "usd", **body})
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    if status == 402:  # a decline names its charge, stored all the same
        with stacks.client(shop.sk_test) as client:
            stored: dict[str, Any] = client.get(f"/v1/charges/{result['error']['charge']}").json()
        return stored
    return result


def event_types(stacks: Stacks, key: str, about: str) -> list[str]:
    with stacks.client(key) as client:
        events = client.get("/v1/events", params={"limit": 100}).json()["data"]
    return [e["type"] for e in reversed(events) if e["data"]["object"]["id"] == about]


def test_a_charge_is_authorised_and_captured_at_once_by_default(stacks: Stacks, shop) -> None:
    result = charge(stacks, shop, card=stacks.token(shop))
    assert (result["status"], result["captured"], result["amount_captured"]) == (
        "succeeded",
        True,
        1000,
    )
    assert (result["amount_refunded"], result["refunded"]) == (0, False)
    assert len(result["authorization_code"]) == 6
    assert event_types(stacks, shop.sk_test, result["id"]) == ["charge.succeeded"]


def test_authorise_now_capture_part_later_releases_the_rest(stacks: Stacks, shop) -> None:
    held = charge(stacks, shop, source=stacks.token(shop), capture=False)
    # Stripe's shape of an authorisation: succeeded and paid, not captured.
    assert (held["status"], held["paid"], held["captured"], held["amount_captured"]) == (
        "succeeded",
        True,
        False,
        0,
    )
    with stacks.client(shop.sk_test) as client:
        too_much = client.post(f"/v1/charges/{held['id']}/capture", json={"amount": 1001})
        assert (too_much.status_code, too_much.json()["error"]["code"]) == (400, "amount_too_large")
        captured = client.post(f"/v1/charges/{held['id']}/capture", json={"amount": 600})
        assert captured.status_code == 200, captured.text
        assert (captured.json()["status"], captured.json()["amount_captured"]) == ("succeeded", 600)
        again = client.post(f"/v1/charges/{held['id']}/capture", json={})
        assert (again.status_code, again.json()["error"]["code"]) == (
            400,
            "charge_already_captured",
        )
    assert event_types(stacks, shop.sk_test, held["id"]) == ["charge.authorized", "charge.captured"]


def test_an_authorisation_can_be_canceled_and_then_never_captured(stacks: Stacks, shop) -> None:
    held = charge(stacks, shop, card=stacks.token(shop), capture=False)
    with stacks.client(shop.sk_test) as client:
        canceled = client.post(f"/v1/charges/{held['id']}/cancel").json()
        # Stripe shows a released authorisation as refunded in full, never captured.
        assert (canceled["status"], canceled["captured"], canceled["refunded"]) == (
            "succeeded",
            False,
            True,
        )
        assert canceled["amount_refunded"] == canceled["amount"]
        late = client.post(f"/v1/charges/{held['id']}/capture", json={})
        assert (late.status_code, late.json()["error"]["code"]) == (400, "charge_not_capturable")


def test_a_held_for_review_charge_can_be_canceled_but_a_declined_one_cannot(
    stacks: Stacks, shop
) -> None:
    review = charge(stacks, shop, card=stacks.token(shop, testcards.PENDING_REVIEW))
    assert review["status"] == "pending" and review["review"].startswith("prv_")
    assert review["outcome"]["type"] == "manual_review"
    declined = charge(stacks, shop, 402, card=stacks.token(shop, testcards.DECLINED))
    assert (declined["status"], declined["failure_code"]) == ("failed", "card_declined")
    with stacks.client(shop.sk_test) as client:
        canceled = client.post(f"/v1/charges/{review['id']}/cancel").json()
        # A review holds an authorisation; releasing it shows as Stripe shows a released
        # uncaptured charge: succeeded, never captured, refunded in full.
        assert (canceled["status"], canceled["captured"], canceled["refunded"]) == (
            "succeeded",
            False,
            True,
        )
        refused = client.post(f"/v1/charges/{declined['id']}/cancel")
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            400,
            "charge_not_cancelable",
        )


def test_live_authorise_then_capture_reaches_the_card_network_twice(stacks: Stacks, shop) -> None:
    card = stacks.token(shop, live=True)
    with stacks.client(shop.sk_live) as client:
        held = client.post(
            "/v1/charges", json={"card": card, "amount": 5000, "currency": "eur", "capture": False}
        ).json()
        assert (held["status"], held["captured"], held["livemode"]) == ("succeeded", False, True)
        client.post(f"/v1/charges/{held['id']}/capture", json={"amount": 4000})
    seen = [
        (m["kind"], m["amount"]) for m in stacks.network_messages() if m["reference"] == held["id"]
    ]
    assert seen == [("authorization", 5000), ("capture", 4000)]


def test_a_customer_with_a_card_can_be_charged_without_naming_the_card(
    stacks: Stacks, shop
) -> None:
    card = stacks.token(shop)
    with stacks.client(shop.sk_test) as client:
        customer = client.post("/v1/customers", json={"email": "a@example.com", "source": card})
        assert customer.status_code == 201, customer.text
        assert customer.json()["default_source"] == card
        charged = client.post(
            "/v1/charges",
            json={"customer": customer.json()["id"], "amount": 300, "currency": "jpy"},
            params={"expand[]": ["customer", "source"]},
        ).json()
        assert (
            charged["source"]["id"] == card
            and charged["source"]["customer"] == customer.json()["id"]
        )
        assert charged["customer"]["email"] == "a@example.com"
        other = stacks.token(shop)
        unknown = client.post(
            "/v1/charges",
            json={"customer": customer.json()["id"], "card": other, "amount": 1, "currency": "usd"},
        )
        assert (unknown.status_code, unknown.json()["error"]["param"]) == (404, "source")
        listed = client.get("/v1/charges", params={"customer": customer.json()["id"]}).json()
        assert [c["id"] for c in listed["data"]] == [charged["id"]]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount": "100"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"card": "4242424242424242"}, "card"),
        ({"capture": "false"}, "capture"),
        ({"metadata": {"k": 1}}, "metadata[k]"),
    ],
)
def test_malformed_parameters_are_400_and_name_the_field(
    sqlite_stacks: Stacks, body: dict[str, Any], param: str
) -> None:
    shop = sqlite_stacks.marketplace()
    base = {"card": "card_" + "a" * 24, "amount": 100, "currency": "usd"}
    with sqlite_stacks.client(shop.sk_test) as client:
        response = client.post("/v1/charges", json={**base, **body})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert body.get("card", "") not in response.text or "card" not in body


def test_a_publishable_key_reads_nothing(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.pk_test) as client:
        assert client.get("/v1/charges").status_code == 403
        assert client.post("/v1/customers", json={}).status_code == 403


def test_a_live_captured_charge_is_one_sale_at_the_network(stacks: Stacks, shop) -> None:
    card = stacks.token(shop, live=True)
    with stacks.client(shop.sk_live) as client:
        done = client.post("/v1/charges", json={"card": card, "amount": 2500, "currency": "eur"})
        assert done.status_code == 201, done.text
        result = done.json()
        assert (result["status"], result["captured"], result["amount_captured"]) == (
            "succeeded",
            True,
            2500,
        )
        assert client.post(f"/v1/charges/{result['id']}/capture").status_code == 400  # done
    seen = [
        (m["kind"], m["amount"], m.get("capture", False))
        for m in stacks.network_messages()
        if m["reference"] == result["id"]
    ]
    # One authorisation that captured (a sale), recorded by the network as both.
    assert seen == [("authorization", 2500, True), ("capture", 2500, False)]
