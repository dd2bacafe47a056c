"""Customers and their cards, pagination and the marketplace, over HTTP."""

from __future__ import annotations

from tests.api.conftest import Stacks


def test_a_customer_is_created_updated_listed_and_deleted(stacks: Stacks, shop) -> None:
    with stacks.client(shop.sk_test) as client:
        made = client.post(
            "/v1/customers", json={"email": "ada@example.com", "metadata": {"plan": "pro"}}
        ).json()
        assert (made["object"], made["livemode"], made["default_source"]) == (
            "customer",
            False,
            None,
        )
        updated = client.post(f"/v1/customers/{made['id']}", json={"name": "Ada"}).json()
        assert (updated["name"], updated["email"]) == ("Ada", "ada@example.com")
        found = client.get("/v1/customers", params={"email": "ada@example.com"}).json()["data"]
        assert [c["id"] for c in found] == [made["id"]]
        gone = client.delete(f"/v1/customers/{made['id']}").json()
        assert gone == {"id": made["id"], "object": "customer", "deleted": True}
        assert client.get(f"/v1/customers/{made['id']}").status_code == 404
        types = [e["type"] for e in client.get("/v1/events").json()["data"]]
    assert types == ["customer.deleted", "customer.updated", "customer.created"]


def test_cards_attach_to_one_customer_and_the_default_follows(stacks: Stacks, shop) -> None:
    first, second = stacks.token(shop), stacks.token(shop)
    with stacks.client(shop.sk_test) as client:
        ada = client.post("/v1/customers", json={"source": first}).json()
        bob = client.post("/v1/customers", json={}).json()
        attached = client.post(f"/v1/customers/{ada['id']}/sources", json={"source": second})
        assert attached.status_code == 201
        assert (attached.json()["customer"], len(attached.json()["last4"])) == (ada["id"], 4)
        taken = client.post(f"/v1/customers/{bob['id']}/cards", json={"card": first})
        assert (taken.status_code, taken.json()["error"]["code"]) == (409, "card_already_attached")
        # Stripe's /sources and Strongroom's older /cards are one list.
        for kind in ("sources", "cards"):
            cards = client.get(f"/v1/customers/{ada['id']}/{kind}").json()["data"]
            assert {c["id"] for c in cards} == {first, second}
        assert client.get(f"/v1/customers/{ada['id']}/sources/{first}").json()["id"] == first
        assert client.get(f"/v1/cards/{first}").json()["customer"] == ada["id"]
        client.delete(f"/v1/customers/{ada['id']}/sources/{first}")
        assert client.get(f"/v1/customers/{ada['id']}").json()["default_source"] == second
        switch = client.post(f"/v1/customers/{ada['id']}", json={"default_source": first})
        assert (switch.status_code, switch.json()["error"]["param"]) == (404, "default_source")


def test_a_card_of_another_marketplace_cannot_be_attached(stacks: Stacks, shop) -> None:
    other = stacks.marketplace("other")
    foreign = stacks.token(other)
    with stacks.client(shop.sk_test) as client:
        customer = client.post("/v1/customers", json={}).json()
        response = client.post(f"/v1/customers/{customer['id']}/cards", json={"card": foreign})
    assert response.status_code == 404


def test_pages_walk_forwards_and_backwards(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        ids = [client.post("/v1/customers", json={"name": str(n)}).json()["id"] for n in range(5)]
        newest_first = list(reversed(ids))
        page = client.get("/v1/customers", params={"limit": 2}).json()
        assert ([c["id"] for c in page["data"]], page["has_more"]) == (newest_first[:2], True)
        assert page["url"] == "/v1/customers"
        after = client.get(
            "/v1/customers", params={"limit": 2, "starting_after": newest_first[1]}
        ).json()
        assert [c["id"] for c in after["data"]] == newest_first[2:4]
        last = client.get(
            "/v1/customers", params={"limit": 2, "starting_after": newest_first[3]}
        ).json()
        assert ([c["id"] for c in last["data"]], last["has_more"]) == (newest_first[4:], False)
        before = client.get(
            "/v1/customers", params={"limit": 2, "ending_before": newest_first[4]}
        ).json()
        assert ([c["id"] for c in before["data"]], before["has_more"]) == (newest_first[2:4], True)
        both = client.get(
            "/v1/customers", params={"starting_after": ids[0], "ending_before": ids[1]}
        )
        assert both.status_code == 400
        for limit in ("0", "101", "x", "١"):
            assert client.get("/v1/customers", params={"limit": limit}).status_code == 400
        assert client.get("/v1/customers", params={"starting_after": ""}).status_code == 400
        unknown = client.get("/v1/customers", params={"starting_after": "cus_" + "z" * 24})
        assert (unknown.status_code, unknown.json()["error"]["param"]) == (404, "starting_after")


def test_the_marketplace_and_an_event_can_be_read(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace("Acme Books")
    with sqlite_stacks.client(shop.sk_live) as client:
        mine = client.get("/v1/marketplace").json()
        assert (mine["id"], mine["name"], mine["livemode"]) == (shop.id, "Acme Books", True)
        client.post("/v1/customers", json={})
        (event,) = client.get("/v1/events", params={"type": "customer.created"}).json()["data"]
        assert client.get(f"/v1/events/{event['id']}").json() == event
        assert client.get("/v1/events", params={"type": "nope"}).status_code == 400


def test_ids_that_cannot_be_ours_are_404_without_a_lookup(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        for path in ("/v1/charges/ch_%00x", "/v1/customers/%F0%9F%92%A5", "/v1/refunds/re_"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "resource_missing"
        nul = client.post("/v1/customers", json={"name": "a\u0000b"})
        assert nul.status_code == 400
        surrogate = client.post(
            "/v1/customers",
            content=b'{"name": "\\ud800"}',
            headers={"content-type": "application/json"},
        )
        assert surrogate.status_code == 400
