"""Stripe's wire protocol over HTTP: forms, strict JSON, query parameters, errors, headers."""

from __future__ import annotations

import time

import httpx
import pytest

from strongroom import testcards
from tests.api.conftest import Stacks

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_a_form_body_is_read_with_each_field_s_type(stacks: Stacks, shop) -> None:
    card = stacks.token(shop)
    form = (
        f"source={card}&amount=2000&currency=usd&capture=false"
        "&metadata%5Border%5D=A-1&metadata[note]=two+words&expand[0]=customer"
    )
    with stacks.client(shop.sk_test) as client:
        made = client.post("/v1/charges", content=form, headers=FORM)
        assert made.status_code == 201, made.text
        charge = made.json()
        assert (charge["amount"], charge["captured"], charge["source"]) == (2000, False, card)
        assert charge["metadata"] == {"order": "A-1", "note": "two words"}
        captured = client.post(
            f"/v1/charges/{charge['id']}/capture", content="amount=1500", headers=FORM
        )
        assert (captured.json()["amount_captured"], captured.json()["captured"]) == (1500, True)


def test_json_keeps_its_strict_types_and_forms_refuse_what_is_not_a_number(
    sqlite_stacks: Stacks,
) -> None:
    shop = sqlite_stacks.marketplace()
    card = sqlite_stacks.token(shop)
    with sqlite_stacks.client(shop.sk_test) as client:
        as_text = client.post(
            "/v1/charges", json={"source": card, "amount": "2000", "currency": "usd"}
        )
        assert (as_text.status_code, as_text.json()["error"]["param"]) == (400, "amount")
        # Another script's digits are no amount: int() would take them.
        arabic = client.post(
            "/v1/charges",
            content=f"source={card}&amount=%D9%A3&currency=usd".encode(),
            headers=FORM,
        )
        assert (arabic.status_code, arabic.json()["error"]["param"]) == (400, "amount")


def test_unknown_fields_and_parameters_are_refused_with_their_name(
    sqlite_stacks: Stacks,
) -> None:
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        in_form = client.post("/v1/customers", content="email=a%40b.c&colour=red", headers=FORM)
        assert (in_form.status_code, in_form.json()["error"]["param"]) == (400, "colour")
        nested = client.post("/v1/customers", json={"metadata": {"a": {"b": "c"}}})
        assert (nested.status_code, nested.json()["error"]["param"]) == (400, "metadata[a]")
        in_query = client.get("/v1/charges", params={"colour": "red"})
        assert (in_query.status_code, in_query.json()["error"]["param"]) == (400, "colour")
        on_post = client.post("/v1/customers?colour=red", json={})
        assert (on_post.status_code, on_post.json()["error"]["param"]) == (400, "colour")
        twice = client.get("/v1/charges?limit=1&limit=2")
        assert (twice.status_code, twice.json()["error"]["code"]) == (400, "invalid_form")


def test_bodies_outside_the_contract_are_415_or_400(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        text = client.post("/v1/customers", content="a=1", headers={"content-type": "text/plain"})
        assert (text.status_code, text.json()["error"]["code"]) == (415, "unsupported_media_type")
        gzip = client.post(
            "/v1/customers", content="a=1", headers={**FORM, "content-encoding": "gzip"}
        )
        assert (gzip.status_code, gzip.json()["error"]["code"]) == (
            415,
            "unsupported_content_encoding",
        )
        duplicate = client.post(
            "/v1/customers",
            content=b'{"name": "a", "name": "b"}',
            headers={"content-type": "application/json"},
        )
        assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (400, "invalid_json")
        labelled_twice = client.post(
            "/v1/customers",
            content="name=a",
            headers=[("content-type", FORM["content-type"]), ("content-type", "application/json")],
        )
        assert (labelled_twice.status_code, labelled_twice.json()["error"]["code"]) == (
            415,
            "unsupported_media_type",
        )
        repeated = client.post("/v1/customers", content="name=a&name=b", headers=FORM)
        assert (repeated.status_code, repeated.json()["error"]["code"]) == (400, "invalid_form")
        assert client.get("/v1/customers").headers["request-id"].startswith("req_")


def test_a_decline_is_402_and_the_charge_is_stored_and_listed(stacks: Stacks, shop) -> None:
    for number, decline_code in (
        (testcards.DECLINED, "generic_decline"),
        (testcards.INSUFFICIENT_FUNDS, "insufficient_funds"),
        (testcards.FRAUD_BLOCKED, "fraudulent"),
    ):
        card = stacks.token(shop, number)
        with stacks.client(shop.sk_test) as client:
            response = client.post(
                "/v1/charges", json={"source": card, "amount": 700, "currency": "usd"}
            )
            error = response.json()["error"]
            assert (response.status_code, error["type"], error["code"]) == (
                402,
                "card_error",
                "card_declined",
            )
            assert error["decline_code"] == decline_code
            assert response.headers["stripe-should-retry"] == "false"
            stored = client.get(f"/v1/charges/{error['charge']}").json()
            assert (stored["status"], stored["paid"], stored["source"]) == ("failed", False, card)
            listed = client.get("/v1/charges", params={"status": "failed", "limit": 100})
            assert error["charge"] in [c["id"] for c in listed.json()["data"]]


def test_created_filters_bound_the_list(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        first = client.post("/v1/customers", json={}).json()
        time.sleep(1.1)
        second = client.post("/v1/customers", json={}).json()

        def ids(**params: int) -> list[str]:
            return [c["id"] for c in client.get("/v1/customers", params=params).json()["data"]]

        assert ids(**{"created[gte]": second["created"]}) == [second["id"]]
        assert ids(**{"created[lt]": second["created"]}) == [first["id"]]
        assert ids(**{"created[lte]": first["created"]}) == [first["id"]]
        assert ids(**{"created[gt]": first["created"]}) == [second["id"]]
        assert ids(created=first["created"]) == [first["id"]]
        bad = client.get("/v1/customers", params={"created[since]": "1"})
        assert (bad.status_code, bad.json()["error"]["param"]) == (400, "created[since]")


def test_expand_is_read_from_a_form_body_in_both_spellings(stacks: Stacks, shop) -> None:
    card = stacks.token(shop)
    with stacks.client(shop.sk_test) as client:
        customer = client.post("/v1/customers", json={"source": card, "email": "e@x.io"}).json()
        for spelling in ("expand[]", "expand[0]"):
            charge = client.post(
                "/v1/charges",
                content=f"customer={customer['id']}&amount=100&currency=usd&{spelling}=customer",
                headers=FORM,
            ).json()
            assert charge["customer"]["email"] == "e@x.io"
        refunds = client.get(f"/v1/charges/{charge['id']}", params={"expand[]": "refunds"}).json()
        assert refunds["refunds"]["data"] == []


def test_updates_merge_metadata_and_an_empty_value_unsets(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        made = client.post(
            "/v1/customers",
            content="description=vip&metadata[a]=1&metadata[b]=2",
            headers=FORM,
        ).json()
        url = f"/v1/customers/{made['id']}"
        merged = client.post(url, content="metadata[b]=&metadata[c]=3", headers=FORM).json()
        assert (merged["metadata"], merged["description"]) == ({"a": "1", "c": "3"}, "vip")
        unset = client.post(url, content="description=&metadata=", headers=FORM).json()
        assert (unset["metadata"], unset["description"]) == ({}, None)
        untouched = client.post(url, json={"name": "Ada"}).json()
        assert (untouched["name"], untouched["metadata"]) == ("Ada", {})


def test_an_empty_value_on_create_stores_no_key(sqlite_stacks: Stacks) -> None:
    """As in Stripe, "" unsets a key on create as on update: it is not stored."""
    shop = sqlite_stacks.marketplace()
    card = sqlite_stacks.token(shop)
    with sqlite_stacks.client(shop.sk_test) as client:
        customer = client.post(
            "/v1/customers", content="metadata[a]=1&metadata[b]=", headers=FORM
        ).json()
        charge = client.post(
            "/v1/charges",
            json={"source": card, "amount": 500, "currency": "usd", "metadata": {"c": ""}},
        ).json()
        refund = client.post(
            "/v1/refunds",
            content=f"charge={charge['id']}&amount=100&metadata[d]=&metadata[e]=5",
            headers=FORM,
        ).json()
        assert customer["metadata"] == {"a": "1"}
        assert client.get(f"/v1/customers/{customer['id']}").json()["metadata"] == {"a": "1"}
        assert charge["metadata"] == {}
        assert client.get(f"/v1/charges/{charge['id']}").json()["metadata"] == {}
        assert refund["metadata"] == {"e": "5"}


def metadata_refusal(response: httpx.Response) -> str:
    """The message of a refusal of metadata, which is named as Stripe names it."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "parameter_invalid",
        "metadata",
    )
    return str(error["message"])


def test_metadata_stays_within_fifty_keys_across_updates(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    fifty = "&".join(f"metadata[k{i}]=v" for i in range(50))
    with sqlite_stacks.client(shop.sk_test) as client:
        made = client.post("/v1/customers", content=fifty, headers=FORM).json()
        url = f"/v1/customers/{made['id']}"
        grown = client.post(url, content="metadata[k50]=v", headers=FORM)
        assert "would leave 51" in metadata_refusal(grown)
        assert client.get(url).json()["metadata"] == made["metadata"]  # nothing changed
        # Unsetting one in the same update makes room: the limit is on what is left.
        swapped = client.post(url, content="metadata[k0]=&metadata[k50]=v", headers=FORM)
        assert swapped.status_code == 200, swapped.text
        assert len(swapped.json()["metadata"]) == 50 and "k50" in swapped.json()["metadata"]


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        ({"k" * 41: "v"}, "a key of 41 characters"),
        ({"": "v"}, "a key of 0 characters"),
        ({"note": "v" * 501}, "a value of 501 characters"),
        ({f"k{i}": "v" for i in range(51)}, "up to 50 keys, but 51"),
        # No square brackets (as in Stripe): `metadata[a[b]]` would read as nesting.
        ({"a[b]": "x"}, "no square brackets"),
        ({"a]": "x"}, "no square brackets"),
        ({"[a": "x"}, "no square brackets"),
    ],
)
def test_every_metadata_limit_is_refused_as_stripe_names_it(
    sqlite_stacks: Stacks, metadata: dict[str, str], words: str
) -> None:
    """Stripe answers each broken limit with `param` `metadata`; the message gives the
    length and the rule, never the key or value (either may be anything)."""
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        refused = client.post("/v1/customers", json={"metadata": metadata})
        listed = client.get("/v1/customers").json()["data"]
    message = metadata_refusal(refused)
    assert words in message
    assert "v" * 40 not in message and "k" * 41 not in message
    assert listed == []  # nothing was made


def test_a_missing_or_unknown_parameter_is_named_with_stripe_s_code(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    card = sqlite_stacks.token(shop)
    with sqlite_stacks.client(shop.sk_test) as client:
        missing = client.post("/v1/charges", content=f"source={card}&currency=usd", headers=FORM)
        unknown = client.post(
            "/v1/charges",
            content=f"source={card}&amount=100&currency=usd&colour=red",
            headers=FORM,
        )
        wrong = client.post(
            "/v1/charges", content=f"source={card}&amount=x&currency=usd", headers=FORM
        )
    assert missing.status_code == unknown.status_code == wrong.status_code == 400
    assert {k: missing.json()["error"][k] for k in ("code", "param", "message")} == {
        "code": "parameter_missing",
        "param": "amount",
        "message": "Missing required param: amount.",
    }
    assert {k: unknown.json()["error"][k] for k in ("code", "param", "message")} == {
        "code": "parameter_unknown",
        "param": "colour",
        "message": "Received unknown parameter: colour.",
    }
    assert (wrong.json()["error"]["code"], wrong.json()["error"]["param"]) == (
        "parameter_invalid",
        "amount",
    )
