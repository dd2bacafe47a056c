"""What stripe-python (the official SDK, unpatched, only its base URL changed) sends passes
the edge and works end to end: its form encoding of odd metadata, nested params, empty
values and its own headers (X-Stripe-Client-User-Agent carries the machine's uname); and
what a merchant's code might slip into those same calls is refused as a Stripe error.
stripe-node sends the same calls (tests/e2e/stripe_node/awkward.mjs, on that package's
pinned SDK)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import stripe

from strongroom.marketplaces import MarketplaceKeys
from tests.attack.conftest import VISA, app_zone_holding
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parent.parent / "e2e" / "stripe_node"

# Every character Stripe's form encoding escapes or leaves bare, and a few scripts.
AWKWARD = {
    "amp": "a&b=c",
    "brackets": "x[0][y]=1",
    "percent": "100% off, %41",
    "plus": "1+1 = 2",
    "unicode": "Zoë · 東京 · 🚚",
    "quote": "\"'`\\",
    "order_number": "A-10042-7",
    "phone": "+1 (415) 555-0142",
    "empty": "",
}


@pytest.fixture(scope="module")
def client(target: Stack, shop: MarketplaceKeys) -> stripe.StripeClient:
    return stripe.StripeClient(shop.sk_test, base_addresses={"api": target.edge_url})


def test_stripe_python_charges_captures_refunds_and_lists_through_the_edge(
    client: stripe.StripeClient, card: str
) -> None:
    held: Any = client.v1.charges.create(
        params={
            "source": card,
            "amount": 4200,
            "currency": "usd",
            "capture": False,
            "description": "Zoë's order № 42",
            "metadata": AWKWARD,
            "expand": ["source"],
        },
        options={"idempotency_key": "sdk-held-1"},
    )
    assert (held.captured, held.source.last4) == (False, "4242")
    assert {k: held.metadata[k] for k in AWKWARD if AWKWARD[k]} == {
        k: v for k, v in AWKWARD.items() if v
    }
    captured: Any = client.v1.charges.capture(held.id, params={"amount": 4000})
    assert (captured.captured, captured.amount_captured) == (True, 4000)
    refund: Any = client.v1.refunds.create(params={"charge": held.id, "amount": 1500})
    assert refund.status == "succeeded"
    updated: Any = client.v1.charges.update(held.id, params={"metadata": {"plus": ""}})
    assert "plus" not in updated.metadata  # Stripe's unset: an empty value
    again: Any = client.v1.charges.retrieve(held.id, params={"expand": ["refunds"]})
    assert (again.amount_refunded, [r.id for r in again.refunds.data]) == (1500, [refund.id])
    listed: Any = client.v1.charges.list(params={"limit": 3})
    assert held.id in [c.id for c in listed.data]


def test_stripe_python_module_api_retries_nothing_twice(
    target: Stack, shop: MarketplaceKeys, card: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "api_key", shop.sk_test)
    monkeypatch.setattr(stripe, "api_base", target.edge_url)
    monkeypatch.setattr(stripe, "max_network_retries", 2)  # its own Idempotency-Key per call
    first: Any = stripe.Charge.create(source=card, amount=1234, currency="usd")
    second: Any = stripe.Charge.create(source=card, amount=1234, currency="usd")
    assert first.id != second.id and first.paid and second.paid


@pytest.mark.parametrize(
    "params",
    [
        {"metadata": {"note": VISA}},
        {"metadata": {"card": " ".join(VISA[i : i + 4] for i in range(0, 16, 4))}},
        {"description": f"paid with {VISA}"},
        {"metadata": {VISA: "x"}},
    ],
)
def test_a_card_number_in_an_sdk_call_is_a_stripe_error_and_never_stored(
    target: Stack, client: stripe.StripeClient, card: str, params: dict[str, Any]
) -> None:
    with pytest.raises(stripe.StripeError) as refused:
        sent: Any = {"source": card, "amount": 100, "currency": "usd", **params}
        client.v1.charges.create(params=sent)
    assert refused.value.http_status == 400
    assert refused.value.code == "pan_detected"
    assert app_zone_holding(target) == []


def test_tokens_made_by_the_sdk_go_to_the_vault_and_charge(
    target: Stack, shop: MarketplaceKeys
) -> None:
    publishable = stripe.StripeClient(shop.pk_test, base_addresses={"api": target.edge_url})
    token: Any = publishable.v1.tokens.create(
        params={"card": {"number": VISA, "exp_month": "12", "exp_year": "2031", "cvc": "123"}}
    )
    secret = stripe.StripeClient(shop.sk_test, base_addresses={"api": target.edge_url})
    charge: Any = secret.v1.charges.create(
        params={"source": token.id, "amount": 999, "currency": "usd"}
    )
    assert charge.paid and charge.amount_captured == 999
    assert app_zone_holding(target) == []


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_stripe_node_sends_the_same_awkward_calls_through_the_edge(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    if not (NODE_DIR / "node_modules" / "stripe").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    config = {
        "key": shop.sk_test,
        "port": target.opts.ports.edge,
        "card": card,
        "metadata": AWKWARD,
        "refused": {"metadata": {"note": VISA}},
    }
    run = subprocess.run(
        ["node", "awkward.mjs", json.dumps(config)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert (seen["held"]["captured"], seen["held"]["last4"]) == (False, "4242")
    kept = seen["held"]["metadata"]
    assert {k: kept[k] for k, v in AWKWARD.items() if v} == {k: v for k, v in AWKWARD.items() if v}
    assert seen["captured"] == {"captured": True, "amount": 4000}
    assert seen["refund"] == {"status": "succeeded", "amount": 1500}
    assert "plus" not in seen["unset"]
    assert seen["refused"] == {"statusCode": 400, "code": "pan_detected"}
    assert app_zone_holding(target) == []
