"""Hosted-fields mode in a real browser: the card lives in an iframe on the js host; the
shop's page and server get only the token."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, unquote

import pytest
from playwright.sync_api import FrameLocator, expect

from strongroom import testcards
from tests.js_sdk.conftest import Card, Shopper, assert_no_card_reached, card

pytestmark = pytest.mark.e2e

# Every message the shop's page receives, kept where the test can read it afterwards.
LISTEN = "window.__messages = []; addEventListener('message', e => __messages.push(e.data));"


def fields(shopper: Shopper) -> FrameLocator:
    return shopper.page.frame_locator("#card-element iframe")


def fill(shopper: Shopper, sent: Card) -> None:
    frame = fields(shopper)
    frame.locator("#number").fill(sent.number)
    frame.locator("#exp").fill(sent.exp)
    frame.locator("#cvc").fill(sent.cvc)


def test_a_card_typed_in_the_iframe_becomes_a_token_and_a_succeeded_charge(
    shopper: Shopper,
) -> None:
    sent = card(testcards.MASTERCARD)  # test mode takes only the documented test cards
    shopper.page.add_init_script(LISTEN)
    shopper.open("hosted")
    frame = fields(shopper)
    frame.locator("#number").press_sequentially(sent.number)
    frame.locator("#exp").press_sequentially(sent.exp.replace("/", ""))
    frame.locator("#cvc").press_sequentially(sent.cvc)
    number = sent.number
    assert frame.locator("#number").input_value() == " ".join(
        number[i : i + 4] for i in range(0, 16, 4)
    )
    assert frame.locator("#exp").input_value() == sent.exp.replace("/", " / ")
    shopper.page.click("button[type=submit]")
    assert shopper.result() == ("succeeded", "Your payment went through.")

    [tokenise] = shopper.posts_to("/v1/cards")
    assert tokenise.url == f"{shopper.stack.api_url}/v1/cards"
    assert tokenise.frame.url.startswith(shopper.stack.js_url + "/fields.")  # sent by the iframe
    [order] = shopper.posts_to("/charge")
    form = parse_qs(order.post_data or "")
    token = form["strongroom_token"][0]
    [made] = [c for c in shopper.stack.charges() if c["order_id"] == form["order_id"][0]]
    assert (made["token"], made["status"]) == (token, "succeeded")
    assert_no_card_reached(shopper.stack, sent)
    assert shopper.errors == []


def test_the_shops_page_can_neither_read_the_card_nor_receive_it(shopper: Shopper) -> None:
    sent = card()
    shopper.page.add_init_script(LISTEN)
    shopper.open("hosted")
    fill(shopper, sent)
    frame = shopper.page.locator("#card-element iframe")
    assert frame.evaluate("f => f.contentDocument") is None  # another origin: no access
    messages = shopper.page.evaluate("window.__messages")
    assert {m["type"] for m in messages} >= {"ready", "change", "resize"}
    assert [m for m in messages if m["type"] == "change"][-1]["complete"] is True
    shown = json.dumps(messages)
    assert sent.number not in shown and sent.number[-4:] not in shown
    assert f'"{sent.cvc}"' not in shown


def test_an_invalid_card_shows_its_message_and_posts_nothing(shopper: Shopper) -> None:
    good = testcards.MASTERCARD
    broken = good[:-1] + str((int(good[-1]) + 1) % 10)
    shopper.open("hosted")
    fill(shopper, card(broken))
    errors = shopper.page.locator("#card-errors")
    errors.filter(has_text="incorrect").wait_for()  # as soon as all 16 digits are in
    assert errors.inner_text() == "Your card number is incorrect."
    assert fields(shopper).locator("#number").get_attribute("aria-invalid") == "true"
    shopper.page.click("button[type=submit]")
    # The page disables its button while it asks the fields for a token; the refusal
    # arrives from the iframe asynchronously, then the message is back and so is the button.
    expect(errors).to_have_text("Your card number is incorrect.")
    expect(shopper.page.locator("button[type=submit]")).to_be_enabled()
    assert shopper.posts_to("/v1/cards") == []
    assert shopper.posts_to("/charge") == []


def test_an_incomplete_cvc_is_named_when_the_shopper_pays(shopper: Shopper) -> None:
    sent = card()
    shopper.open("hosted")
    fill(shopper, Card(sent.number, sent.exp, sent.cvc[:2]))
    shopper.page.click("button[type=submit]")
    errors = shopper.page.locator("#card-errors")
    errors.filter(has_text="security code").wait_for()
    assert errors.inner_text() == "Your card's security code is incomplete."
    assert shopper.posts_to("/v1/cards") == []


def test_a_declined_card_shows_the_decline(shopper: Shopper) -> None:
    sent = card(testcards.DECLINED)
    shopper.open("hosted")
    fill(shopper, sent)
    shopper.page.click("button[type=submit]")
    assert shopper.result() == ("failed", "Your card was declined.")
    assert_no_card_reached(shopper.stack, sent)


def test_enter_in_the_iframe_pays(shopper: Shopper) -> None:
    shopper.open("hosted")
    fill(shopper, card())
    fields(shopper).locator("#cvc").press("Enter")
    assert shopper.result()[0] == "succeeded"
    assert len(shopper.posts_to("/v1/cards")) == 1


def test_inputs_take_the_shops_style_placeholders_and_autofill_names(shopper: Shopper) -> None:
    shopper.open("hosted")
    frame = fields(shopper)
    number = frame.locator("#number")
    assert number.get_attribute("autocomplete") == "cc-number"
    assert frame.locator("#exp").get_attribute("autocomplete") == "cc-exp"
    assert frame.locator("#cvc").get_attribute("autocomplete") == "cc-csc"
    assert number.get_attribute("inputmode") == "numeric"
    assert number.get_attribute("placeholder") == "Card number"  # the shop's placeholder
    assert number.evaluate("e => getComputedStyle(e).color") == "rgb(26, 31, 54)"
    placeholder = number.evaluate("e => getComputedStyle(e, '::placeholder').color")
    assert placeholder == "rgb(135, 146, 162)"
    number.fill("4242")
    frame.locator("#exp").fill("1")
    frame.locator("#number").focus()  # leaving the number incomplete marks it invalid
    assert number.get_attribute("aria-invalid") == "true"
    assert number.evaluate("e => getComputedStyle(e).color") == "rgb(223, 27, 65)"
    height = shopper.page.locator("#card-element iframe").evaluate("f => f.clientHeight")
    assert height > 80  # resized to its content by the iframe's own message


def test_the_fields_page_stays_empty_when_framed_by_another_origin_than_it_was_told(
    shopper: Shopper,
) -> None:
    shopper.open("hosted")
    src = shopper.page.locator("#card-element iframe").get_attribute("src") or ""
    page_url, config = src.split("#", 1)
    forged = json.loads(unquote(config))
    forged["origin"] = "http://shop.example"  # a page claiming to be another shop
    shopper.page.evaluate(
        "src => { const f = document.createElement('iframe'); f.id = 'forged'; f.src = src; "
        "document.body.append(f); }",
        f"{page_url}#{quote(json.dumps(forged))}",
    )
    forged_frame = shopper.page.frame_locator("#forged")
    forged_frame.locator("body").wait_for(state="attached")
    shopper.page.wait_for_timeout(300)
    assert forged_frame.locator("input").count() == 0
