"""Who is calling: one key, in the Authorization header, of the mode whose stack answers."""

from __future__ import annotations

import base64

import httpx
import pytest

from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys, create_marketplace
from tests.attack.conftest import exchange, request, tokenise
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def get(stack: Stack, *authorizations: str, path: str = "/v1/charges?limit=1") -> tuple[int, str]:
    lines = [f"Authorization: {a}" for a in authorizations]
    head = [f"GET {path} HTTP/1.1", "Host: api.localhost", *lines, "Connection: close"]
    (answer,) = exchange(stack, ("\r\n".join(head) + "\r\n\r\n").encode())
    return answer.status, answer.code or ""


def test_two_authorization_headers_are_refused_whatever_they_hold(
    target: Stack, shop: MarketplaceKeys
) -> None:
    test, live = f"Bearer {shop.sk_test}", f"Bearer {shop.sk_live}"
    for pair in ((test, live), (live, test), (test, test), (test, "Bearer nonsense")):
        assert get(target, *pair) == (401, "invalid_api_key"), pair


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_api_key"),
        ("", "missing_api_key"),
        ("Bearer", "invalid_api_key"),
        ("Bearer ", "invalid_api_key"),
        ("Token {sk_test}", "invalid_api_key"),
        ("Bearer {sk_test} {sk_live}", "invalid_api_key"),
        ("Bearer {sk_test},Bearer {sk_live}", "invalid_api_key"),
        ("Bearer sk_live_{test_secret}", "invalid_api_key"),
        ("Bearer sk_test_{live_secret}", "invalid_api_key"),
        ("Bearer pk_live_{test_secret}", "invalid_api_key"),
        ("Bearer sk_test_", "invalid_api_key"),
        ("Basic !!!", "invalid_api_key"),
    ],
)
def test_a_key_that_is_missing_malformed_or_of_the_other_mode_is_401(
    target: Stack, shop: MarketplaceKeys, authorization: str | None, code: str
) -> None:
    values = {
        "sk_test": shop.sk_test,
        "sk_live": shop.sk_live,
        "test_secret": shop.sk_test.removeprefix("sk_test_"),
        "live_secret": shop.sk_live.removeprefix("sk_live_"),
    }
    given = [] if authorization is None else [authorization.format(**values)]
    assert get(target, *given) == (401, code)


def test_a_key_in_the_body_or_the_query_is_no_key(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    form = f"api_key={shop.sk_test}&card={card}&amount=100&currency=usd".encode()
    sent = (
        "POST /v1/charges HTTP/1.1\r\nHost: api.localhost\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(form)}\r\nConnection: close\r\n\r\n"
    ).encode() + form
    (in_body,) = exchange(target, sent)
    assert (in_body.status, in_body.code) == (401, "missing_api_key")
    for query in (f"api_key={shop.sk_test}", f"key={shop.sk_test}"):
        assert get(target, path=f"/v1/charges?{query}") == (401, "missing_api_key")


def test_the_key_in_basic_auth_is_its_user_name(target: Stack, shop: MarketplaceKeys) -> None:
    def basic(user: str, password: str = "") -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    assert get(target, basic(shop.sk_test))[0] == 200
    assert get(target, basic(shop.sk_test, shop.sk_live))[0] == 200
    assert get(target, basic(shop.sk_test.upper())) == (401, "invalid_api_key")


def test_a_publishable_key_cannot_charge_or_read(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    body = f'{{"card": "{card}", "amount": 100, "currency": "usd"}}'.encode()
    (charged,) = exchange(
        target, request(shop.pk_test, body, "Content-Type: application/json", "Connection: close")
    )
    assert (charged.status, charged.code) == (403, "secret_key_required")
    assert get(target, f"Bearer {shop.pk_test}")[0] == 403


def test_a_charge_is_seen_only_by_its_marketplace_and_mode(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    other = create_marketplace(target.opts, target.secrets, "another shop")
    with target.client(shop.sk_test) as mine:
        charge = mine.post("/v1/charges", json={"card": card, "amount": 100, "currency": "usd"})
    path = f"/v1/charges/{charge.json()['id']}"
    for key in (shop.sk_live, other.sk_test, other.sk_live):
        with target.client(key) as client:
            seen = client.get(path)
            refund = client.post("/v1/refunds", json={"charge": charge.json()["id"]})
        assert seen.status_code == 404, seen.text
        assert refund.status_code == 404, refund.text


def test_the_router_port_refuses_what_the_edge_would(target: Stack, shop: MarketplaceKeys) -> None:
    """Behind the edge, the router alone decides the stack: the same rules there."""
    router = f"http://127.0.0.1:{target.opts.ports.router}/v1/charges"
    two = [("authorization", f"Bearer {shop.sk_test}"), ("authorization", f"Bearer {shop.sk_live}")]
    assert httpx.get(router, headers=two).status_code == 401
    assert httpx.get(router).status_code == 401


def test_a_token_is_charged_only_in_its_own_mode(target: Stack, shop: MarketplaceKeys) -> None:
    test_token = tokenise(target, shop.pk_test)
    live_token = tokenise(target, shop.pk_live, testcards.generated_card())
    for key, token in ((shop.sk_live, test_token), (shop.sk_test, live_token)):
        with target.client(key) as client:
            charged = client.post(
                "/v1/charges", json={"card": token, "amount": 100, "currency": "usd"}
            )
            attached = client.post("/v1/customers", json={"source": token})
            read = client.get(f"/v1/cards/{token}")
        assert [charged.status_code, attached.status_code, read.status_code] == [404] * 3
