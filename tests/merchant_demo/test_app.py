"""The shop's pages and its server half: it charges the token and nothing else arrives."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import httpx
from starlette.testclient import TestClient

from tests.merchant_demo.conftest import MANIFEST, SK, FakeEdge


class Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs))
        elif tag == "script":
            self.scripts.append(dict(attrs))


def parsed(html: str) -> Inputs:
    parser = Inputs()
    parser.feed(html)
    return parser


def order_of(html: str) -> str:
    match = re.search(r'name="order_id" value="([a-z0-9]+)"', html)
    assert match
    return match.group(1)


def test_each_checkout_loads_the_bundle_the_manifest_names_with_its_integrity(shop):
    for mode in ("form", "hosted"):
        page = shop.get(f"/checkout/{mode}")
        assert page.status_code == 200
        bundle = parsed(page.text).scripts[0]
        assert bundle == {
            "src": "http://js.localhost:8080/" + MANIFEST["strongroom.js"]["file"],
            "integrity": MANIFEST["strongroom.js"]["integrity"],
            "crossorigin": "anonymous",
        }


def test_the_form_pages_card_fields_have_no_name_so_the_browser_never_posts_them(shop):
    inputs = parsed(shop.get("/checkout/form").text).inputs
    card = [i for i in inputs if "data-strongroom" in i]
    assert sorted(str(i["data-strongroom"]) for i in card) == ["cvc", "exp", "name", "number"]
    assert all("name" not in i for i in card)
    named = sorted(str(i["name"]) for i in inputs if "name" in i)
    assert named == ["item", "order_id"]


def test_pages_allow_scripts_from_the_js_host_and_calls_to_the_api_host_only(shop):
    csp = shop.get("/checkout/hosted").headers["content-security-policy"]
    assert "script-src 'self' http://js.localhost:8080;" in csp
    assert "frame-src http://js.localhost:8080;" in csp
    assert "connect-src 'self' http://api.localhost:8080;" in csp


def test_no_manifest_means_no_checkout(shop, edge: FakeEdge):
    edge.manifest = httpx.Response(404)
    assert shop.get("/checkout/form").status_code == 503


def test_the_token_is_charged_with_the_secret_key_once_per_order(shop, edge: FakeEdge):
    order = order_of(shop.get("/checkout/form").text)
    form = {"strongroom_token": "card_abc123", "item": "field-guide", "order_id": order}
    result = shop.post("/charge", data=form)
    assert result.status_code == 200
    assert 'data-charge-status="succeeded"' in result.text
    charge = next(r for r in edge.seen if r.url.path == "/v1/charges")
    assert charge.headers["authorization"] == f"Bearer {SK}"
    assert charge.headers["idempotency-key"] == f"order-{order}"
    assert json.loads(charge.content) == {
        "source": "card_abc123",
        "amount": 2500,  # the shop's price, not the page's
        "currency": "usd",
        "description": "A field guide to strongrooms",
    }
    made = shop.get("/_demo/charges").json()["data"]
    assert made == [
        {"order_id": order, "token": "card_abc123", "id": "ch_1", "status": "succeeded"}
    ]


def test_a_declined_charge_shows_the_apis_message(shop, edge: FakeEdge):
    # The API answers a decline as Stripe does: 402 card_error naming the stored charge.
    edge.charge = lambda request: httpx.Response(
        402,
        json={
            "error": {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "charge": "ch_2",
                "message": "Your card was declined.",
            }
        },
    )
    form = {"strongroom_token": "card_x", "item": "field-guide", "order_id": "a" * 16}
    result = shop.post("/charge", data=form)
    assert result.status_code == 402
    assert 'data-charge-status="failed"' in result.text
    assert "Your card was declined." in result.text
    made = shop.get("/_demo/charges").json()["data"]
    assert made == [{"order_id": "a" * 16, "token": "card_x", "id": "ch_2", "status": "failed"}]


def test_a_refused_charge_shows_the_apis_error(shop, edge: FakeEdge):
    edge.charge = lambda request: httpx.Response(
        404, json={"error": {"code": "resource_missing", "message": "No such card."}}
    )
    form = {"strongroom_token": "card_x", "item": "field-guide", "order_id": "a" * 16}
    result = shop.post("/charge", data=form)
    assert result.status_code == 402
    assert "No such card." in result.text


def test_an_order_without_a_token_charges_nothing(shop, edge: FakeEdge):
    for token in ["", "4242424242424242", "card_", "ch_abc"]:
        form = {"strongroom_token": token, "item": "field-guide", "order_id": "a" * 16}
        result = shop.post("/charge", data=form)
        assert result.status_code == 400
        assert 'data-charge-status="no_token"' in result.text
    assert [r for r in edge.seen if r.url.path == "/v1/charges"] == []


def test_an_unknown_item_or_order_charges_nothing(shop, edge: FakeEdge):
    for item, order in [("other", "a" * 16), ("field-guide", "short"), ("field-guide", "A" * 16)]:
        form = {"strongroom_token": "card_x", "item": item, "order_id": order}
        assert shop.post("/charge", data=form).status_code == 400
    assert [r for r in edge.seen if r.url.path == "/v1/charges"] == []


def test_an_unreachable_api_is_a_502_page(edge: FakeEdge):
    from merchant_demo.app import create_app
    from tests.merchant_demo.conftest import settings

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with TestClient(create_app(settings(), transport=httpx.MockTransport(down))) as shop:
        form = {"strongroom_token": "card_x", "item": "field-guide", "order_id": "a" * 16}
        assert shop.post("/charge", data=form).status_code == 502


def test_every_request_is_recorded_with_its_body(shop: TestClient):
    shop.get("/checkout/form?x=1")
    shop.post("/charge", data={"strongroom_token": "card_abc", "item": "none", "order_id": ""})
    received = shop.get("/_demo/requests").json()["data"]
    assert [(r["method"], r["path"], r["query"]) for r in received] == [
        ("GET", "/checkout/form", "x=1"),
        ("POST", "/charge", ""),
    ]
    assert received[1]["body"] == "strongroom_token=card_abc&item=none&order_id="
    assert ["content-type", "application/x-www-form-urlencoded"] in received[1]["headers"]


def test_static_scripts_are_served(shop):
    for name in ("checkout-form.js", "checkout-hosted.js", "shop.css"):
        assert shop.get(f"/static/{name}").status_code == 200
