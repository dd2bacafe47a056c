"""A scripted checkout through the edge: every outcome a merchant meets, checked."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys


@dataclass
class Step:
    name: str
    expected: str
    got: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.expected == self.got


class Checkout:
    """A merchant's two halves: the browser tokenises, the server charges."""

    def __init__(self, edge_url: str, keys: MarketplaceKeys) -> None:
        self.http = httpx.Client(base_url=edge_url, timeout=30.0, headers={"host": "api.localhost"})
        self.keys = keys

    def tokenise(self, number: str, live: bool = False) -> dict[str, Any]:
        key = self.keys.pk_live if live else self.keys.pk_test
        exp_year = dt.date.today().year + 3
        card = {"number": number, "exp_month": 12, "exp_year": exp_year, "cvc": "123"}
        response = self.http.post(
            "/v1/cards", json=card, headers={"authorization": f"Bearer {key}"}
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def charge(self, token: str, amount: int, live: bool = False) -> dict[str, Any]:
        key = self.keys.sk_live if live else self.keys.sk_test
        response = self.http.post(
            "/v1/charges",
            json={"source": token, "amount": amount, "currency": "usd", "description": "demo"},
            headers={"authorization": f"Bearer {key}", "idempotency-key": reference()},
        )
        body: dict[str, Any] = response.json()
        declined = body.get("error", {}).get("charge") if response.status_code == 402 else None
        if declined:  # Stripe's 402 card_error: the charge is stored, and named
            stored = self.http.get(
                f"/v1/charges/{declined}", headers={"authorization": f"Bearer {key}"}
            )
            stored.raise_for_status()
            body = stored.json()
        elif response.status_code >= 400:
            raise RuntimeError(f"charge refused: {response.status_code} {body}")
        return body


def reference() -> str:
    """A random idempotency key or order id of letters only: random hex now and then holds
    a Luhn-valid run of digits, which the edge rightly refuses to pass."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(20))


def outcome(charge: dict[str, Any]) -> str:
    code = charge.get("failure_code") or ("review" if charge.get("review") else None)
    return f"{charge['status']} ({code})" if code else str(charge["status"])


def bundle_integrity(http: httpx.Client) -> Step:
    """The js host serves strongroom.js whose bytes match the manifest's integrity value."""
    js = {"host": "js.localhost"}
    manifest = http.get("/manifest.json", headers=js)
    if manifest.status_code != 200:
        return Step("js host serves strongroom.js", "matches", f"manifest {manifest.status_code}")
    entry = manifest.json()["strongroom.js"]
    bundle = http.get(f"/{entry['file']}", headers=js)
    digest = "sha384-" + base64.b64encode(hashlib.sha384(bundle.content).digest()).decode()
    got = "matches" if bundle.status_code == 200 and digest == entry["integrity"] else "differs"
    return Step("js host serves strongroom.js", "matches", got, entry["file"])


def merchant_steps(shop: Checkout, merchant_url: str) -> list[Step]:
    """The demo shop's server charges tokens the browser made; it never sees a card."""
    steps = [bundle_integrity(shop.http)]
    with httpx.Client(base_url=merchant_url, timeout=30.0) as merchant:
        page = merchant.get("/checkout/form")
        served = "yes" if page.status_code == 200 and 'integrity="sha384-' in page.text else "no"
        steps.append(Step("shop's checkout loads strongroom.js with SRI", "yes", served))
        for name, number, expected in [
            ("shop charges a token", testcards.SUCCEEDS, "succeeded"),
            ("shop shows a declined card", testcards.DECLINED, "failed"),
        ]:
            token = shop.tokenise(number)["id"]  # what strongroom.js does in the browser
            order = reference()
            form = {"strongroom_token": token, "item": "field-guide", "order_id": order}
            merchant.post("/charge", data=form)
            made = [
                c for c in merchant.get("/_demo/charges").json()["data"] if c["order_id"] == order
            ]
            got = made[0]["status"] if made else "no charge"
            steps.append(Step(name, expected, got, made[0]["id"] if made else ""))
        received = merchant.get("/_demo/requests").json()["data"]
        leaked = [r["path"] for r in received if any(n in str(r) for n in testcards.TEST_CARDS)]
        steps.append(
            Step(
                "shop received no card number",
                "none",
                ", ".join(leaked) or "none",
                f"{len(received)} request(s) recorded",
            )
        )
    return steps


def run(
    edge_url: str,
    keys: MarketplaceKeys,
    network_messages: Callable[[], list[dict[str, Any]]],
    say: Callable[[str], None] = print,
    live_number: str | None = None,
    merchant_url: str | None = None,
) -> list[Step]:
    """Run every step; `live_number` is the card charged in live mode (generated if None);
    with `merchant_url`, the demo shop's steps too."""
    shop = Checkout(edge_url, keys)
    steps: list[Step] = []

    def record(step: Step) -> None:
        steps.append(step)
        say(f"  {'ok ' if step.ok else 'BAD'} {step.name:<46} {step.got:<32} {step.detail}")

    test_charges = []
    for name, number, expected in [
        ("test card succeeds", testcards.SUCCEEDS, "succeeded"),
        ("test card declined", testcards.DECLINED, "failed (card_declined)"),
        (
            "test card insufficient funds",
            testcards.INSUFFICIENT_FUNDS,
            "failed (insufficient_funds)",
        ),
        ("test card blocked by fraud", testcards.FRAUD_BLOCKED, "failed (fraud_blocked)"),
        ("test card held for review", testcards.PENDING_REVIEW, "pending (review)"),
    ]:
        card = shop.tokenise(number)
        charge = shop.charge(card["id"], 2500)
        test_charges.append(charge["id"])
        fraud = charge.get("fraud") or {}
        record(
            Step(
                name,
                expected,
                outcome(charge),
                f"{charge['id']} {card['brand']} …{card['last4']} fraud={fraud.get('score')}",
            )
        )

    live_number = live_number or testcards.generated_card()
    card = shop.tokenise(live_number, live=True)
    live = shop.charge(card["id"], 4200, live=True)
    record(Step("live charge", "succeeded", outcome(live), f"{live['id']} …{card['last4']}"))

    seen = network_messages()
    references = {m["reference"] for m in seen}
    record(
        Step(
            "card network recorded the live charge",
            "yes",
            "yes" if live["id"] in references else "no",
            f"{len(seen)} message(s) in its record",
        )
    )
    leaked = references.intersection(test_charges)
    record(Step("card network saw no test charge", "none", ", ".join(sorted(leaked)) or "none"))

    blocked = shop.http.post(
        "/v1/charges",
        json={"card": testcards.SUCCEEDS, "amount": 100, "currency": "usd"},
        headers={"authorization": f"Bearer {keys.sk_test}"},
    )
    error = blocked.json().get("error", {})
    record(
        Step(
            "edge refuses a card number sent to /v1/charges",
            "400 sensitive_data",
            f"{blocked.status_code} {error.get('type')}",
        )
    )
    for step in merchant_steps(shop, merchant_url) if merchant_url else []:
        record(step)
    return steps
