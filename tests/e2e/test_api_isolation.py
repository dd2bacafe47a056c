"""Test and live modes through the edge: every object of one mode is 404 from the other."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys, create_marketplace
from tests.e2e.conftest import Stack
from tests.helpers.servers import free_port

pytestmark = pytest.mark.e2e


def objects(stack: Stack, keys: MarketplaceKeys, live: bool) -> dict[str, Any]:
    """One of everything in one mode: card, customer, charges, refund, endpoint, delivery."""
    year = dt.date.today().year + 2
    # Test mode takes only the documented test cards, live mode none of them.
    number = testcards.generated_card() if live else testcards.SUCCEEDS
    card = {"number": number, "exp_month": 12, "exp_year": year, "cvc": "123"}
    pk, sk = (keys.pk_live, keys.sk_live) if live else (keys.pk_test, keys.sk_test)
    with stack.client(pk) as browser, stack.client(sk) as api:
        cards = [browser.post("/v1/cards", json=card).json()["id"] for _ in range(3)]
        hook = api.post(
            "/v1/webhook_endpoints",
            # https: live mode refuses http:// (nothing listens there; the delivery is owed).
            json={"url": f"https://127.0.0.1:{free_port()}/hook", "enabled_events": ["*"]},
        ).json()
        customer = api.post("/v1/customers", json={"card": cards[0]}).json()
        charge = api.post(
            "/v1/charges", json={"customer": customer["id"], "amount": 900, "currency": "usd"}
        ).json()
        held = api.post(
            "/v1/charges",
            json={"card": cards[1], "amount": 500, "currency": "usd", "capture": False},
        ).json()
        refund = api.post("/v1/refunds", json={"charge": charge["id"], "amount": 100}).json()
        event = api.get("/v1/events", params={"limit": 1}).json()["data"][0]
        delivery = api.get("/v1/webhook_deliveries", params={"limit": 1}).json()["data"][0]
    # Stripe's shape of an authorisation: succeeded, not captured.
    assert (charge["status"], held["status"], held["captured"], refund["status"]) == (
        "succeeded",
        "succeeded",
        False,
        "succeeded",
    )
    return {
        "card": cards[2],
        "customer": customer["id"],
        "attached": cards[0],
        "charge": charge["id"],
        "held": held["id"],
        "refund": refund["id"],
        "event": event["id"],
        "endpoint": hook["id"],
        "delivery": delivery["id"],
    }


def requests_for(o: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/v1/cards/{o['card']}", None),
        ("GET", f"/v1/customers/{o['customer']}", None),
        ("POST", f"/v1/customers/{o['customer']}", {"name": "x"}),
        ("GET", f"/v1/customers/{o['customer']}/cards", None),
        ("DELETE", f"/v1/customers/{o['customer']}/cards/{o['attached']}", None),
        ("GET", f"/v1/charges/{o['charge']}", None),
        ("POST", f"/v1/charges/{o['charge']}", {"description": "x"}),
        ("POST", f"/v1/charges/{o['held']}/capture", {}),
        ("POST", f"/v1/charges/{o['held']}/cancel", {}),
        ("GET", f"/v1/refunds/{o['refund']}", None),
        ("GET", f"/v1/events/{o['event']}", None),
        ("GET", f"/v1/webhook_endpoints/{o['endpoint']}", None),
        ("POST", f"/v1/webhook_endpoints/{o['endpoint']}", {"disabled": True}),
        ("GET", f"/v1/webhook_deliveries/{o['delivery']}", None),
        ("POST", f"/v1/webhook_deliveries/{o['delivery']}/retry", {}),
        ("POST", "/v1/refunds", {"charge": o["charge"]}),
        ("POST", "/v1/charges", {"card": o["card"], "amount": 100, "currency": "usd"}),
        ("POST", "/v1/charges", {"customer": o["customer"], "amount": 100, "currency": "usd"}),
        ("DELETE", f"/v1/webhook_endpoints/{o['endpoint']}", None),
        ("DELETE", f"/v1/customers/{o['customer']}", None),
    ]


def test_every_object_of_one_mode_is_404_from_the_other(stack: Stack) -> None:
    keys = create_marketplace(stack.opts, stack.secrets, "isolation")
    test_objects, live_objects = objects(stack, keys, False), objects(stack, keys, True)
    for key, foreign in ((keys.sk_live, test_objects), (keys.sk_test, live_objects)):
        with stack.client(key) as api:
            for method, path, body in requests_for(foreign):
                response = api.request(method, path, json=body)
                assert response.status_code == 404, (method, path, response.text)
                assert response.json()["error"]["code"] == "resource_missing"
            listed = {
                item["id"]
                for path in (
                    "/v1/charges",
                    "/v1/customers",
                    "/v1/refunds",
                    "/v1/events",
                    "/v1/webhook_endpoints",
                    "/v1/webhook_deliveries",
                )
                for item in api.get(path, params={"limit": 100}).json()["data"]
            }
            assert listed.isdisjoint(foreign.values())
    # Nothing above changed the objects in their own mode.
    with stack.client(keys.sk_test) as api:
        held = api.get(f"/v1/charges/{test_objects['held']}").json()
        assert (held["status"], held["captured"], held["refunded"]) == ("succeeded", False, False)
        assert api.get(f"/v1/customers/{test_objects['customer']}").status_code == 200


def test_the_openapi_document_needs_no_key_but_everything_else_does(stack: Stack) -> None:
    with httpx.Client(base_url=stack.edge_url, headers={"host": "api.localhost"}) as anon:
        assert anon.get("/v1/openapi.json").status_code == 200
        for path in ("/v1/marketplace", "/v1/events", "/v1/customers"):
            assert anon.get(path).status_code == 401
