"""Money through the edge: races, odd amounts, idempotency keys and a killed API. A charge,
a capture, a refund: each made once, for its amount, and answered as it is."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest

from servicekit.crashpoints import VARIABLE
from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys
from tests.attack.conftest import exchange, request, tokenise
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def post(stack: Stack, key: str, path: str, body: Any, **headers: str) -> httpx.Response:
    with stack.client(key) as client:
        return client.post(path, json=body, headers=headers)


def held(stack: Stack, shop: MarketplaceKeys, card: str, amount: int = 1000) -> dict[str, Any]:
    body = {"card": card, "amount": amount, "currency": "usd", "capture": False}
    made = post(stack, shop.sk_test, "/v1/charges", body)
    assert made.status_code == 201 and made.json()["captured"] is False, made.text
    charge: dict[str, Any] = made.json()
    return charge


def current(stack: Stack, key: str, charge_id: str) -> dict[str, Any]:
    with stack.client(key) as client:
        charge: dict[str, Any] = client.get(f"/v1/charges/{charge_id}").json()
    return charge


# --- races ----------------------------------------------------------------------------------


def test_concurrent_captures_capture_once(target: Stack, shop: MarketplaceKeys, card: str) -> None:
    charge = held(target, shop, card)
    path = f"/v1/charges/{charge['id']}/capture"
    answers = at_once([lambda: post(target, shop.sk_test, path, {})] * 8)
    assert all(a.status_code in (200, 400, 409) for a in answers), [a.text for a in answers]
    assert any(a.status_code == 200 and a.json()["captured"] for a in answers)
    final = current(target, shop.sk_test, charge["id"])
    assert (final["captured"], final["amount_captured"]) == (True, 1000)


def test_a_capture_never_answers_200_with_the_charge_uncaptured(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    for _ in range(10):  # eight requests race for one capture, ten times over
        charge = held(target, shop, card)
        path = f"/v1/charges/{charge['id']}/capture"
        answers = at_once([partial(post, target, shop.sk_test, path, {})] * 8)
        for answer in answers:
            if answer.status_code == 200:
                assert answer.json()["captured"] is True, answer.json()
                assert answer.json()["amount_captured"] == 1000, answer.json()


def test_concurrent_partial_captures_capture_one_amount(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    charge = held(target, shop, card)
    path = f"/v1/charges/{charge['id']}/capture"
    amounts = [300, 400, 500, 600, 700, 800]
    answers = at_once([partial(post, target, shop.sk_test, path, {"amount": a}) for a in amounts])
    final = current(target, shop.sk_test, charge["id"])
    assert final["captured"] is True and final["amount_captured"] in amounts
    winners = [a for a in answers if a.status_code == 200 and a.json()["captured"]]
    assert {w.json()["amount_captured"] for w in winners} == {final["amount_captured"]}


def test_concurrent_refunds_never_exceed_the_captured_amount(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    made = post(
        target, shop.sk_test, "/v1/charges", {"card": card, "amount": 1000, "currency": "usd"}
    )
    charge_id = made.json()["id"]
    refund = {"charge": charge_id, "amount": 300}
    answers = at_once([lambda: post(target, shop.sk_test, "/v1/refunds", refund)] * 10)
    made_refunds = [a for a in answers if a.status_code == 201]
    assert len(made_refunds) == 3, [a.text for a in answers]
    assert all(a.status_code in (201, 400, 409) for a in answers)
    assert current(target, shop.sk_test, charge_id)["amount_refunded"] == 900
    with target.client(shop.sk_test) as client:
        listed = client.get("/v1/refunds", params={"charge": charge_id, "limit": 100}).json()
    assert sum(r["amount"] for r in listed["data"] if r["status"] == "succeeded") == 900


def test_capture_refund_and_cancel_racing_on_one_authorisation_settle_one_way(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    charge = held(target, shop, card)
    cid = charge["id"]
    at_once(
        [
            lambda: post(target, shop.sk_test, f"/v1/charges/{cid}/capture", {"amount": 700}),
            lambda: post(target, shop.sk_test, f"/v1/charges/{cid}/cancel", {}),
            lambda: post(target, shop.sk_test, "/v1/refunds", {"charge": cid}),
            lambda: post(target, shop.sk_test, f"/v1/charges/{cid}/capture", {}),
        ]
    )
    final = current(target, shop.sk_test, cid)
    if final["captured"]:
        assert final["amount_captured"] in (700, 1000)
        assert final["amount_refunded"] <= final["amount_captured"]
    else:  # released: nothing captured, the authorisation given back whole
        assert final["amount_captured"] == 0
        assert final["status"] in ("canceled", "succeeded") and final["amount_refunded"] in (
            0,
            1000,
        )


def test_an_uncaptured_charge_is_refunded_whole_or_not_at_all(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    charge = held(target, shop, card)
    part = post(target, shop.sk_test, "/v1/refunds", {"charge": charge["id"], "amount": 100})
    whole = post(target, shop.sk_test, "/v1/refunds", {"charge": charge["id"]})
    again = post(target, shop.sk_test, "/v1/refunds", {"charge": charge["id"]})
    capture = post(target, shop.sk_test, f"/v1/charges/{charge['id']}/capture", {})
    assert part.status_code == 400, part.text
    assert whole.status_code == 201 and whole.json()["amount"] == 1000, whole.text
    assert again.status_code == 400, again.text
    assert capture.status_code == 400, capture.text
    final = current(target, shop.sk_test, charge["id"])
    assert (final["captured"], final["amount_captured"]) == (False, 0)


def test_a_charge_held_for_review_moves_only_by_a_review(
    target: Stack, shop: MarketplaceKeys
) -> None:
    token = tokenise(target, shop.pk_test, testcards.PENDING_REVIEW)
    made = post(
        target, shop.sk_test, "/v1/charges", {"card": token, "amount": 700, "currency": "usd"}
    )
    assert made.status_code == 201 and made.json()["review"], made.text
    cid = made.json()["id"]
    capture = post(target, shop.sk_test, f"/v1/charges/{cid}/capture", {})
    refund = post(target, shop.sk_test, "/v1/refunds", {"charge": cid})
    assert capture.status_code == 400, capture.text
    assert refund.status_code == 400, refund.text
    final = current(target, shop.sk_test, cid)
    assert (final["captured"], final["amount_captured"], final["amount_refunded"]) == (False, 0, 0)


# --- amounts and currencies ------------------------------------------------------------------

BAD_AMOUNTS = [
    "0", "-1", "-0", "1.0", "1e2", "1E2", "0x64", "true", '"100"', "[100]", "{}",
    "9223372036854775807", "9223372036854775808", "18446744073709551617", "100000000",
    "1" + "0" * 400,
]  # fmt: skip


@pytest.fixture(scope="module")
def untouched(target: Stack, shop: MarketplaceKeys, card: str) -> tuple[str, str]:
    """An authorisation to capture and a captured charge to refund, which no bad amount
    may move."""
    body = {"card": card, "amount": 5000, "currency": "usd"}
    captured = post(target, shop.sk_test, "/v1/charges", body).json()["id"]
    return held(target, shop, card, 5000)["id"], captured


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
@pytest.mark.parametrize("where", ["charge", "capture", "refund"])
def test_an_amount_that_is_not_a_plain_integer_in_range_moves_nothing(
    target: Stack,
    shop: MarketplaceKeys,
    card: str,
    untouched: tuple[str, str],
    amount: str,
    where: str,
) -> None:
    authorised, captured = untouched
    path, body = {
        "charge": ("/v1/charges", f'{{"card": "{card}", "currency": "usd", "amount": {amount}}}'),
        "capture": (f"/v1/charges/{authorised}/capture", f'{{"amount": {amount}}}'),
        "refund": ("/v1/refunds", f'{{"charge": "{captured}", "amount": {amount}}}'),
    }[where]
    with target.client(shop.sk_test) as client:
        answer = client.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert current(target, shop.sk_test, authorised)["amount_captured"] == 0
    assert current(target, shop.sk_test, captured)["amount_refunded"] == 0


@pytest.mark.parametrize(
    "amount", ["١٠٠", "１００", "%D9%A1%D9%A0%D9%A0", "1_000", "+100", "%20100", "100%00", "1e2"]
)
def test_a_form_amount_in_other_digits_or_spellings_is_400(
    target: Stack, shop: MarketplaceKeys, card: str, amount: str
) -> None:
    with target.client(shop.sk_test) as client:
        answer = client.post(
            "/v1/charges",
            content=f"card={card}&currency=usd&amount={amount}",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize("currency", ["USD", "Usd", " usd", "usd ", "ｕｓｄ", "us", "usdd", "xxx"])
def test_a_currency_is_lower_case_iso_or_refused(
    target: Stack, shop: MarketplaceKeys, card: str, currency: str
) -> None:
    body = {"card": card, "amount": 100, "currency": currency}
    answer = post(target, shop.sk_test, "/v1/charges", body)
    # Refused, or stored as the one lower-case code: never a second spelling of a currency.
    assert answer.status_code == 400 or answer.json()["currency"] == "usd", answer.text


# --- idempotency ----------------------------------------------------------------------------


def test_an_idempotency_key_reused_with_another_body_is_refused_and_charges_nothing_more(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    key = "attack-" + secrets.token_hex(6)
    body = {"card": card, "amount": 100, "currency": "usd"}
    first = post(target, shop.sk_test, "/v1/charges", body, **{"idempotency-key": key})
    variants = [
        {**body, "amount": 101},
        {**body, "capture": False},
        {**body, "metadata": {"x": "y"}},
        {**body, "currency": "eur"},
    ]
    others = [
        post(target, shop.sk_test, "/v1/charges", v, **{"idempotency-key": key}) for v in variants
    ]
    elsewhere = post(target, shop.sk_test, "/v1/customers", {}, **{"idempotency-key": key})
    same = post(target, shop.sk_test, "/v1/charges", body, **{"idempotency-key": key})
    assert first.status_code == 201
    for other in [*others, elsewhere]:
        assert other.status_code == 400, other.text
        assert other.json()["error"]["type"] == "idempotency_error", other.text
    assert same.json()["id"] == first.json()["id"]


def test_concurrent_requests_with_one_idempotency_key_make_one_charge(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    key = "attack-" + secrets.token_hex(6)
    body = {"card": card, "amount": 4321, "currency": "usd", "metadata": {"k": key}}
    answers = at_once(
        [lambda: post(target, shop.sk_test, "/v1/charges", body, **{"idempotency-key": key})] * 8
    )
    ids = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(ids) == 1, [a.text for a in answers]
    assert all(a.status_code in (201, 409) for a in answers)
    with target.client(shop.sk_test) as client:
        listed = client.get("/v1/charges", params={"limit": 100}).json()["data"]
    assert [c["id"] for c in listed if c["metadata"].get("k") == key] == list(ids)


def test_two_idempotency_keys_on_one_request_are_refused_and_charge_nothing(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    first, second = ("attack-" + secrets.token_hex(6) for _ in range(2))
    body = f'{{"card": "{card}", "amount": 100, "currency": "usd"}}'.encode()
    keys = (f"Idempotency-Key: {first}", f"Idempotency-Key: {second}")
    sent = request(shop.sk_test, body, "Content-Type: application/json", *keys, "Connection: close")
    (answer,) = exchange(target, sent)
    assert (answer.status, answer.code) == (400, "idempotency_key_invalid")
    # Neither key was claimed: each runs as new, alone.
    for key in (first, second):
        charged = post(
            target, shop.sk_test, "/v1/charges", json.loads(body), **{"idempotency-key": key}
        )
        assert charged.status_code == 201 and not charged.headers.get("idempotent-replayed")


def test_one_idempotency_key_in_two_marketplaces_makes_two_charges(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    other = target.keys
    other_card = tokenise(target, other.pk_test)
    key = "attack-" + secrets.token_hex(6)
    mine = post(
        target, shop.sk_test, "/v1/charges", {"card": card, "amount": 100, "currency": "usd"},
        **{"idempotency-key": key},
    )  # fmt: skip
    theirs = post(
        target, other.sk_test, "/v1/charges",
        {"card": other_card, "amount": 100, "currency": "usd"}, **{"idempotency-key": key},
    )  # fmt: skip
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


# --- a killed API (last: it restarts the live stack) ----------------------------------------


def _network_kinds(stack: Stack, charge_id: str) -> list[tuple[str, int]]:
    return sorted(
        (str(m["kind"]), int(str(m["amount"])))
        for m in stack.network_messages()
        if m["reference"] == charge_id and m["approved"] and not m["replayed"]
    )


def test_a_charge_whose_api_was_killed_mid_request_is_made_once_on_retry(
    target: Stack, shop: MarketplaceKeys
) -> None:
    """SIGKILL of the live API after the vault executed the charge and before the API
    recorded it; the merchant retries with its key (once with another amount) until
    answered."""
    token = tokenise(target, shop.pk_live, testcards.generated_card())
    key = "attack-kill-" + secrets.token_hex(6)
    body = {"card": token, "amount": 2468, "currency": "usd"}
    target.supervisor.restart("api-live", {VARIABLE: "api:vault_called:after"})
    try:
        first = post(target, shop.sk_live, "/v1/charges", body, **{"idempotency-key": key})
        lost = first.status_code >= 500
    except httpx.HTTPError:
        lost = True
    assert lost, "the armed API answered: the crash point was not reached"
    assert target.supervisor.died("api-live")
    target.supervisor.restart("api-live")  # disarmed
    # The dead request's key, taken over with other parameters: refused, never executed.
    deadline = time.monotonic() + 60
    while True:
        changed = post(
            target,
            shop.sk_live,
            "/v1/charges",
            {**body, "amount": 9999},
            **{"idempotency-key": key},
        )
        # 409 while the dead process's claim of the key is still leased to it.
        if changed.status_code < 500 and changed.status_code != 409:
            break
        assert time.monotonic() < deadline, changed.text
        time.sleep(0.3)
    assert changed.status_code == 400, changed.text
    assert changed.json()["error"]["type"] == "idempotency_error"
    while True:
        answer = post(target, shop.sk_live, "/v1/charges", body, **{"idempotency-key": key})
        if answer.status_code < 500 and answer.status_code != 409:
            break
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.3)
    assert answer.status_code == 201, answer.text
    charge = answer.json()
    assert (charge["status"], charge["amount_captured"]) == ("succeeded", 2468)
    again = post(target, shop.sk_live, "/v1/charges", body, **{"idempotency-key": key})
    assert again.json()["id"] == charge["id"]
    assert _network_kinds(target, charge["id"]) == [("authorization", 2468), ("capture", 2468)]
