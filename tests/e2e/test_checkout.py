"""Checkouts end to end: real processes, every request through the edge."""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest

from strongroom import demo, testcards
from tests.e2e.conftest import Stack, files_holding

pytestmark = pytest.mark.e2e

# Every number these tests send; none may be found outside the vault afterwards.
LIVE_CARD = testcards.generated_card()
SENT_PANS = [*testcards.TEST_CARDS, LIVE_CARD]


def card_body(number: str) -> dict[str, object]:
    return {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}


def test_demo_checkout_has_every_outcome(stack: Stack) -> None:
    steps = demo.run(stack.edge_url, stack.keys, stack.network_messages, lambda _: None, LIVE_CARD)
    assert [(s.name, s.got) for s in steps] == [(s.name, s.expected) for s in steps]
    assert {s.name for s in steps} >= {
        "test card succeeds",
        "test card declined",
        "test card blocked by fraud",
        "live charge",
        "card network recorded the live charge",
        "card network saw no test charge",
    }


def test_tokenise_then_charge_returns_the_charge_with_its_fraud_outcome(stack: Stack) -> None:
    with stack.client(stack.keys.pk_test) as browser, stack.client(stack.keys.sk_test) as server:
        card = browser.post("/v1/cards", json=card_body(testcards.SUCCEEDS))
        assert card.status_code == 201, card.text
        token = card.json()
        assert token["id"].startswith("card_")
        assert (token["last4"], token["brand"], token["livemode"]) == ("4242", "visa", False)
        assert "number" not in token and "cvc" not in token

        charge = server.post(
            "/v1/charges", json={"card": token["id"], "amount": 1999, "currency": "eur"}
        )
        assert charge.status_code == 201, charge.text
        body = charge.json()
        assert (body["status"], body["amount"], body["currency"]) == ("succeeded", 1999, "eur")
        assert body["fraud"]["decision"] == "allow"
        assert body["livemode"] is False

        fetched = server.get(f"/v1/charges/{body['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == body
        listed = server.get("/v1/charges", params={"limit": 100}).json()
        assert body["id"] in [c["id"] for c in listed["data"]]


def test_idempotency_key_replays_the_first_response(stack: Stack) -> None:
    with stack.client(stack.keys.pk_test) as browser, stack.client(stack.keys.sk_test) as server:
        token = browser.post("/v1/cards", json=card_body(testcards.SUCCEEDS)).json()["id"]
        key = secrets.token_hex(8)
        body = {"card": token, "amount": 700, "currency": "usd"}
        first = server.post("/v1/charges", json=body, headers={"idempotency-key": key})
        again = server.post("/v1/charges", json=body, headers={"idempotency-key": key})
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        changed = server.post(
            "/v1/charges", json={**body, "amount": 701}, headers={"idempotency-key": key}
        )
        assert changed.status_code == 400  # Stripe's status: its SDKs raise IdempotencyError
        assert changed.json()["error"]["code"] == "idempotency_key_reused"


def pan_requests(key: str, pan: str) -> dict[str, dict[str, object]]:
    """The same PAN in each place the edge must look, bound for /v1/charges."""
    return {
        "json body": {"json": {"card": pan, "amount": 100, "currency": "usd"}},
        "form body": {"data": {"card": pan, "amount": "100", "currency": "usd"}},
        "query string": {"params": {"card": pan}, "json": {"amount": 100}},
        "header": {"headers": {"x-card": pan}, "json": {"amount": 100}},
        "basic auth user": {
            "headers": {"authorization": "Basic " + base64.b64encode(pan.encode()).decode()},
            "json": {},
        },
    }


@pytest.mark.parametrize("place", list(pan_requests("k", testcards.SUCCEEDS)))
def test_pan_bound_for_the_app_zone_is_refused_at_the_edge(stack: Stack, place: str) -> None:
    with stack.client(stack.keys.sk_test) as server:
        for pan in (testcards.SUCCEEDS, "4000-0000-0000-0002", LIVE_CARD):
            response = server.post("/v1/charges", **pan_requests(stack.keys.sk_test, pan)[place])  # type: ignore[arg-type]
            assert response.status_code == 400, (place, response.text)
            assert response.json()["error"]["type"] == "sensitive_data"


def test_publishable_key_cannot_charge(stack: Stack) -> None:
    with stack.client(stack.keys.pk_test) as browser:
        token = browser.post("/v1/cards", json=card_body(testcards.SUCCEEDS)).json()["id"]
        response = browser.post("/v1/charges", json={"card": token, "amount": 1, "currency": "usd"})
        assert response.status_code == 403
        assert response.json()["error"]["type"] == "permission_error"


def test_test_and_live_objects_are_invisible_to_the_other_mode(stack: Stack) -> None:
    keys = stack.keys
    with (
        stack.client(keys.pk_test) as pk_test,
        stack.client(keys.sk_test) as sk_test,
        stack.client(keys.pk_live) as pk_live,
        stack.client(keys.sk_live) as sk_live,
    ):
        test_card = pk_test.post("/v1/cards", json=card_body(testcards.SUCCEEDS)).json()["id"]
        live_card = pk_live.post("/v1/cards", json=card_body(LIVE_CARD)).json()["id"]
        test_charge = sk_test.post(
            "/v1/charges", json={"card": test_card, "amount": 300, "currency": "usd"}
        ).json()["id"]
        live_charge = sk_live.post(
            "/v1/charges", json={"card": live_card, "amount": 300, "currency": "usd"}
        ).json()["id"]

        for client, charge, card in (
            (sk_test, live_charge, live_card),
            (sk_live, test_charge, test_card),
        ):
            assert client.get(f"/v1/charges/{charge}").status_code == 404
            assert client.get(f"/v1/cards/{card}").status_code == 404
            response = client.post(
                "/v1/charges", json={"card": card, "amount": 1, "currency": "usd"}
            )
            assert response.status_code == 404, response.text
        assert live_charge not in [c["id"] for c in sk_test.get("/v1/charges").json()["data"]]


def test_live_mode_refuses_a_documented_test_card(stack: Stack) -> None:
    with stack.client(stack.keys.pk_live) as browser:
        response = browser.post("/v1/cards", json=card_body(testcards.SUCCEEDS))
        assert response.status_code == 402
        assert response.json()["error"]["code"] == "card_declined"


def test_unknown_key_and_missing_key_are_401(stack: Stack) -> None:
    with httpx.Client(base_url=stack.edge_url, headers={"host": "api.localhost"}) as anon:
        assert anon.get("/v1/charges").status_code == 401
        bad = anon.get("/v1/charges", headers={"authorization": "Bearer sk_test_nope"})
        assert bad.status_code == 401
        assert bad.json()["error"]["type"] == "authentication_error"


def test_no_pan_rests_anywhere_in_the_data_dir(stack: Stack) -> None:
    """Every file the stack wrote (databases, logs) is PAN-free; defined last, so runs last."""
    assert (stack.opts.data_dir / "api-test").exists() and (stack.opts.data_dir / "logs").exists()
    assert files_holding(stack.opts.data_dir, SENT_PANS) == []
