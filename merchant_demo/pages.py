"""The shop's HTML: a product, a checkout page per mode, and the result of a charge.

Every value put into a page is escaped; the card fields of the form page have no name
attribute, so the browser could never post them here even if strongroom.js did not run.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from merchant_demo.bundle import Script


@dataclass(frozen=True)
class Item:
    slug: str
    title: str
    amount: int  # minor units
    currency: str

    @property
    def price(self) -> str:
        return f"{self.amount / 100:.2f} {self.currency.upper()}"


CATALOGUE = {
    item.slug: item for item in [Item("field-guide", "A field guide to strongrooms", 2500, "usd")]
}
ITEM = CATALOGUE["field-guide"]


def page(title: str, body: str, scripts: list[Script] | None = None, own: str | None = None) -> str:
    tags = "".join(
        f'<script src="{escape(s.src)}" integrity="{escape(s.integrity)}" '
        f'crossorigin="anonymous"></script>'
        for s in scripts or []
    )
    if own:
        tags += f'<script src="/static/{escape(own)}"></script>'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · Vault Books</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/shop.css">
</head>
<body>
<header><a href="/">Vault Books</a> <span class="demo">demo shop · test mode</span></header>
<main>
{body}
</main>
{tags}
</body>
</html>
"""


def index() -> str:
    return page(
        "Shop",
        f"""<h1>{escape(ITEM.title)}</h1>
<p class="price">{escape(ITEM.price)}</p>
<p>Pay with a card form of the shop's own, or with card fields hosted by Strongroom:</p>
<ul class="modes">
<li><a href="/checkout/form">Checkout with the shop's form</a> (form mode)</li>
<li><a href="/checkout/hosted">Checkout with hosted card fields</a> (iframe mode)</li>
</ul>""",
    )


def _order_fields(order_id: str) -> str:
    return (
        f'<input type="hidden" name="item" value="{escape(ITEM.slug)}">'
        f'<input type="hidden" name="order_id" value="{escape(order_id)}">'
    )


def _summary() -> str:
    return f'<h1>Checkout</h1><p class="price">{escape(ITEM.title)}: {escape(ITEM.price)}</p>'


def _card_input(label: str, role: str, autocomplete: str, placeholder: str = "") -> str:
    """A card field: data-strongroom marks it, and it has no name, so it is never posted."""
    numeric = ' inputmode="numeric"' if role != "name" else ""
    return (
        f'<label>{label} <input data-strongroom="{role}" autocomplete="{autocomplete}"'
        f'{numeric} placeholder="{placeholder}"></label>'
    )


def checkout_form(script: Script, key: str, api_url: str, order_id: str) -> str:
    body = f"""{_summary()}
<form id="checkout" method="post" action="/charge"
 data-key="{escape(key)}" data-api-url="{escape(api_url)}">
{_order_fields(order_id)}
{_card_input("Name on card", "name", "cc-name")}
{_card_input("Card number", "number", "cc-number", "1234 1234 1234 1234")}
<div class="row">
{_card_input("Expiry", "exp", "cc-exp", "MM / YY")}
{_card_input("CVC", "cvc", "cc-csc", "123")}
</div>
<p class="error" data-strongroom-error role="alert"></p>
<button type="submit">Pay {escape(ITEM.price)}</button>
</form>"""
    return page("Checkout (form)", body, [script], "checkout-form.js")


def checkout_hosted(script: Script, key: str, order_id: str) -> str:
    body = f"""{_summary()}
<form id="checkout" method="post" action="/charge" data-key="{escape(key)}">
{_order_fields(order_id)}
<input type="hidden" name="strongroom_token">
<label for="card-element">Card</label>
<div id="card-element"></div>
<p class="error" id="card-errors" role="alert"></p>
<button type="submit">Pay {escape(ITEM.price)}</button>
</form>"""
    return page("Checkout (hosted fields)", body, [script], "checkout-hosted.js")


def unavailable() -> str:
    return page(
        "Checkout unavailable",
        '<h1>Checkout unavailable</h1><p class="error">The payment library could not be '
        "found. Try again in a moment.</p>",
    )


def result(status: str, message: str, charge_id: str | None = None) -> str:
    headline = {
        "succeeded": "Thank you: payment received",
        "pending": "Thank you: your payment is being reviewed",
    }.get(status, "Payment not completed")
    charge = f' data-charge-id="{escape(charge_id)}"' if charge_id else ""
    return page(
        headline,
        f"""<section id="result" data-charge-status="{escape(status)}"{charge}>
<h1>{escape(headline)}</h1>
<p class="message">{escape(message)}</p>
<p><a href="/">Back to the shop</a></p>
</section>""",
    )
