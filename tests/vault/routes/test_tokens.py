"""POST /v1/tokens and form-encoded POST /v1/cards, as Stripe's SDKs send them."""

from __future__ import annotations

import re

import pytest

from tests.vault.conftest import LEAKS

FORM = {"content-type": "application/x-www-form-urlencoded"}


def form_card(number: str, year: int, cvc: str = "123", prefix: str = "card") -> str:
    def key(name: str) -> str:
        return f"{prefix}%5B{name}%5D" if prefix else name

    fields = {"number": number, "exp_month": "12", "exp_year": str(year), "cvc": cvc}
    return "&".join(f"{key(name)}={value}" for name, value in fields.items())


def test_a_form_encoded_token_is_a_stripe_token_of_a_card(vault) -> None:
    number = vault.number("4")
    LEAKS.sent(number, "123")
    response = vault.client.post(
        "/v1/tokens",
        content=form_card(number, vault.next_year),
        # Live mode: test mode takes only the documented test cards.
        headers={**FORM, "Authorization": f"Bearer {vault.keys['sk_live']}"},
    )
    assert response.status_code == 201, response.text
    token = response.json()
    assert (token["object"], token["type"], token["used"], token["livemode"]) == (
        "token",
        "card",
        False,
        True,
    )
    assert re.fullmatch(r"card_[A-Za-z0-9]{24}", token["id"]) and token["card"]["id"] == token["id"]
    assert (token["card"]["last4"], token["card"]["exp_month"]) == (number[-4:], 12)
    assert number not in response.text
    assert vault.metadata(token["id"], live=True).status_code == 200


def test_a_json_token_and_a_form_card_tokenise_alike(vault) -> None:
    number = vault.number("5")
    LEAKS.sent(number, "123")
    # A secret live key: only it sees fingerprints of numbers other than the test cards.
    auth = {"Authorization": f"Bearer {vault.keys['sk_live']}"}
    body = {"number": number, "exp_month": 12, "exp_year": vault.next_year, "cvc": "123"}
    as_json = vault.client.post("/v1/tokens", json={"card": body}, headers=auth)
    as_form = vault.client.post(
        "/v1/cards", content=form_card(number, vault.next_year, prefix=""), headers={**FORM, **auth}
    )
    assert (as_json.status_code, as_form.status_code) == (201, 201)
    assert as_json.json()["card"]["fingerprint"] == as_form.json()["fingerprint"]


@pytest.mark.parametrize(
    "form",
    [
        "card[number]=1&card[number]=2",
        "card[number]=%zz",
        "card[number]=%ff",
        "card[a][b]=1",
        "card[]=1",
        "card=1&card[number]=1",
    ],
)
def test_forms_outside_the_contract_are_refused(sqlite_vault, form: str) -> None:
    response = sqlite_vault.client.post(
        "/v1/tokens",
        content=form,
        headers={**FORM, "Authorization": f"Bearer {sqlite_vault.keys['pk_test']}"},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_form")


def test_only_card_tokens_are_made(sqlite_vault) -> None:
    auth = {"Authorization": f"Bearer {sqlite_vault.keys['pk_test']}"}
    for form in ("bank_account[account_number]=000123456789", "pii[id_number]=1", ""):
        response = sqlite_vault.client.post("/v1/tokens", content=form, headers={**FORM, **auth})
        assert (response.status_code, response.json()["error"]["param"]) == (400, "card")


def test_a_form_expiry_in_other_digits_is_refused(sqlite_vault) -> None:
    number = sqlite_vault.number("4")
    LEAKS.sent(number, "123")
    form = f"card[number]={number}&card[exp_month]=%D9%A1%D9%A2&card[exp_year]=2099&card[cvc]=123"
    response = sqlite_vault.client.post(
        "/v1/tokens",
        content=form,
        headers={**FORM, "Authorization": f"Bearer {sqlite_vault.keys['pk_test']}"},
    )
    assert (response.status_code, response.json()["error"]["param"]) == (400, "exp_month")


def test_another_method_is_405_naming_the_one_allowed(sqlite_vault) -> None:
    response = sqlite_vault.client.put("/v1/tokens", content=b"")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
