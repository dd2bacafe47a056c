"""Form mode in a real browser: the shop's own form; only the token reaches its server."""

from __future__ import annotations

import secrets
import string
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Route

from strongroom import testcards
from tests.js_sdk.conftest import Card, Shopper, assert_no_card_reached, card

pytestmark = pytest.mark.e2e


def shop_script(shopper: Shopper, before: str = "", key: str | None = None) -> None:
    """Change the shop's own checkout script: run `before` first, init with `key`.

    The script, not the page: a page the browser did not get from the loopback address
    would lose its right to reach loopback (Chromium's local network access checks).
    """

    def patched(route: Route) -> None:
        fetched = route.fetch()
        text = fetched.text()
        if key:
            text = text.replace("form.dataset.key", repr(key))
        route.fulfill(response=fetched, body=before + text)

    shopper.page.route("**/static/checkout-form.js", patched)


def fill(shopper: Shopper, sent: Card, name: str = "Ada Lovelace") -> None:
    page = shopper.page
    page.fill("[data-strongroom=name]", name)
    page.fill("[data-strongroom=number]", sent.number)
    page.fill("[data-strongroom=exp]", sent.exp)
    page.fill("[data-strongroom=cvc]", sent.cvc)


def test_a_test_card_becomes_a_token_and_a_succeeded_charge(shopper: Shopper) -> None:
    sent = card(testcards.SUCCEEDS)
    shopper.open("form")
    fill(shopper, sent)
    shopper.page.click("button[type=submit]")
    assert shopper.result() == ("succeeded", "Your payment went through.")

    [tokenise] = shopper.posts_to("/v1/cards")
    assert tokenise.url == f"{shopper.stack.api_url}/v1/cards"  # straight to the vault's host
    [order] = shopper.posts_to("/charge")
    form = parse_qs(order.post_data or "")
    assert sorted(form) == ["item", "order_id", "strongroom_token"]
    token = form["strongroom_token"][0]
    assert token.startswith("card_")
    [made] = [c for c in shopper.stack.charges() if c["order_id"] == form["order_id"][0]]
    assert (made["token"], made["status"]) == (token, "succeeded")
    assert made["id"].startswith("ch_")
    assert_no_card_reached(shopper.stack, sent)
    assert shopper.errors == []


@pytest.mark.parametrize(
    ("number", "exp", "cvc", "message"),
    [
        ("broken", None, None, "Your card number is incorrect."),
        ("4242 4242", None, None, "Your card number is incomplete."),
        (None, "01/20", None, "Your card has expired."),
        (None, "13/40", None, "Your card's expiration month is invalid."),
        (None, None, "12", "Your card's security code is incomplete."),
        (testcards.SUCCEEDS, None, "1234", "Your card's security code is invalid."),
    ],
)
def test_an_invalid_card_shows_its_message_and_posts_nothing(
    shopper: Shopper, number: str | None, exp: str | None, cvc: str | None, message: str
) -> None:
    good = card(testcards.MASTERCARD)
    if number == "broken":  # Luhn-invalid: the last digit moved on by one
        number = good.number[:-1] + str((int(good.number[-1]) + 1) % 10)
    sent = Card(number or good.number, exp or good.exp, cvc or good.cvc)
    shopper.open("form")
    fill(shopper, sent)
    shopper.page.click("button[type=submit]")
    error = shopper.page.locator("[data-strongroom-error]")
    assert error.inner_text() == message
    assert shopper.page.locator("[aria-invalid=true]").count() == 1
    assert shopper.posts_to("/v1/cards") == []
    assert shopper.posts_to("/charge") == []
    assert shopper.page.url.endswith("/checkout/form")


def test_a_declined_card_shows_the_decline(shopper: Shopper) -> None:
    sent = card(testcards.DECLINED)
    shopper.open("form")
    fill(shopper, sent)
    shopper.page.click("button[type=submit]")
    assert shopper.result() == ("failed", "Your card was declined.")
    assert_no_card_reached(shopper.stack, sent)


def test_the_vaults_refusal_is_shown_not_swallowed(shopper: Shopper) -> None:
    # The shop's page with its live key: the vault refuses a test card in live mode.
    shop_script(shopper, key=shopper.stack.keys.pk_live)
    shopper.open("form")
    fill(shopper, card(testcards.SUCCEEDS))
    shopper.page.click("button[type=submit]")
    error = shopper.page.locator("[data-strongroom-error]")
    error.filter(has_text="declined").wait_for()
    assert error.inner_text() == "Your card was declined: a known test card was used in live mode."
    assert shopper.page.locator("[data-strongroom=number]").get_attribute("aria-invalid") == "true"
    assert len(shopper.posts_to("/v1/cards")) == 1
    assert shopper.posts_to("/charge") == []
    assert shopper.page.locator("button[type=submit]").is_enabled()  # the shopper can retry


def test_an_unknown_key_is_shown_too(shopper: Shopper) -> None:
    # Letters only: random hex may hold a Luhn-valid digit run, which the edge refuses.
    unknown = "".join(secrets.choice(string.ascii_letters) for _ in range(32))
    shop_script(shopper, key="pk_test_" + unknown)
    shopper.open("form")
    fill(shopper, card())
    shopper.page.click("button[type=submit]")
    error = shopper.page.locator("[data-strongroom-error]")
    error.filter(has_text="key").wait_for()
    assert shopper.posts_to("/charge") == []


def test_a_double_submit_sends_one_card_and_one_order(shopper: Shopper) -> None:
    sent = card()
    shopper.open("form")
    fill(shopper, sent)
    shopper.page.evaluate(
        "() => { const form = document.getElementById('checkout');"
        " form.requestSubmit(); form.requestSubmit(); }"
    )
    shopper.page.keyboard.press("Enter")
    assert shopper.result()[0] == "succeeded"
    assert len(shopper.posts_to("/v1/cards")) == 1
    assert len(shopper.posts_to("/charge")) == 1


def test_a_named_card_field_is_unnamed_before_it_can_be_posted(shopper: Shopper) -> None:
    shop_script(
        shopper, before="document.querySelector('[data-strongroom=number]').name = 'number';"
    )
    sent = card()
    shopper.open("form")
    assert shopper.page.locator("[data-strongroom=number]").get_attribute("name") is None
    fill(shopper, sent)
    shopper.page.click("button[type=submit]")
    assert shopper.result()[0] == "succeeded"
    assert_no_card_reached(shopper.stack, sent)
    assert any("removed the name" in e for e in shopper.errors)
