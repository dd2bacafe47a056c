"""A whole checkout through the edge with Stripe's official SDKs, changed only in their base URL.

stripe-python and stripe-node are clients no one here wrote: nothing below patches them. If a
call fails, Strongroom does not speak Stripe's wire protocol there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strongroom import testcards
from strongroom.marketplaces import create_marketplace
from tests.e2e.conftest import Stack, files_holding
from tests.helpers.servers import serving

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parent / "stripe_node"
YEAR = 2040
# Every card number sent below; none may reach the app zone's files.
SENT: list[str] = []


def card(number: str) -> Any:
    SENT.append(number)
    return {"number": number, "exp_month": 12, "exp_year": YEAR, "cvc": "123"}


@pytest.fixture
def merchant(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh marketplace; stripe-python pointed at the edge with its secret key."""
    keys = create_marketplace(stack.opts, stack.secrets, "stripe-python")
    monkeypatch.setattr(stripe, "api_key", keys.sk_test)
    monkeypatch.setattr(stripe, "api_base", stack.edge_url)
    return keys.sk_test


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    received: list[tuple[bytes, str]] = []

    async def hook(request: Request) -> Response:
        received.append((await request.body(), request.headers["stripe-signature"]))
        return Response(status_code=200)

    with serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield url + "/hook", received


def wait_for(received: list[tuple[bytes, str]], count: int = 1) -> None:
    deadline = time.monotonic() + 20
    while len(received) < count:
        assert time.monotonic() < deadline, "no webhook delivery"
        time.sleep(0.05)


def test_a_checkout_with_stripe_python(
    stack: Stack, merchant: str, receiver: tuple[str, list[tuple[bytes, str]]]
) -> None:
    url, received = receiver
    endpoint: Any = stripe.WebhookEndpoint.create(url=url, enabled_events=["charge.succeeded"])
    assert endpoint.secret.startswith("whsec_")

    token: Any = stripe.Token.create(card=card(testcards.SUCCEEDS))
    assert (token.object, token.card.last4) == ("token", "4242")
    customer: Any = stripe.Customer.create(source=token.id, metadata={"order": "A-1"})
    assert (customer.default_source, customer.metadata["order"]) == (token.id, "A-1")

    charge: Any = stripe.Charge.create(
        customer=customer.id, amount=2000, currency="usd", idempotency_key="order-A-1"
    )
    assert (charge.status, charge.paid, charge.captured, charge.source) == (
        "succeeded",
        True,
        True,
        token.id,
    )
    assert charge.outcome.network_status == "approved_by_network"
    replay: Any = stripe.Charge.create(
        customer=customer.id, amount=2000, currency="usd", idempotency_key="order-A-1"
    )
    assert replay.id == charge.id
    assert replay.last_response.headers["idempotent-replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        stripe.Charge.create(
            customer=customer.id, amount=2001, currency="usd", idempotency_key="order-A-1"
        )

    declined_card: Any = stripe.Token.create(card=card(testcards.DECLINED))
    with pytest.raises(stripe.CardError) as declined:
        stripe.Charge.create(source=declined_card.id, amount=500, currency="usd")
    assert (declined.value.code, declined.value.http_status) == ("card_declined", 402)
    assert str(declined.value.request_id).startswith("req_")
    # One id for the request in the edge's logs and the API's answer.
    assert (declined.value.headers or {}).get("x-request-id") == declined.value.request_id
    error: Any = declined.value.error
    stored: Any = stripe.Charge.retrieve(error.charge)
    assert (stored.status, stored.paid) == ("failed", False)

    with pytest.raises(stripe.InvalidRequestError) as bad:
        stripe.Charge.create(customer=customer.id, amount=-5, currency="usd")
    assert bad.value.param == "amount"

    held: Any = stripe.Charge.create(
        customer=customer.id, amount=3000, currency="usd", capture=False
    )
    assert (held.status, held.captured) == ("succeeded", False)
    captured: Any = stripe.Charge.capture(held.id, amount=2500)
    assert (captured.captured, captured.amount_captured) == (True, 2500)
    refund: Any = stripe.Refund.create(charge=held.id, amount=1000)
    assert (refund.status, refund.amount) == ("succeeded", 1000)
    after: Any = stripe.Charge.retrieve(held.id, expand=["customer", "refunds"])
    assert (after.amount_refunded, after.refunded) == (1000, False)
    assert after.customer.metadata["order"] == "A-1"
    assert [r.id for r in after.refunds.data] == [refund.id]

    listed = [c.id for c in stripe.Charge.list(limit=2).auto_paging_iter()]
    assert listed == [held.id, stored.id, charge.id]  # three pages of at most two, newest first

    wait_for(received)  # charge.succeeded: only `charge` (held's capture is charge.captured)
    payload, header = received[0]
    event: Any = stripe.Webhook.construct_event(payload.decode(), header, endpoint.secret)
    assert (event.type, event.data.object.id) == ("charge.succeeded", charge.id)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.decode(), header, "whsec_" + "x" * 32)


def test_stripe_python_reads_a_missing_unknown_or_too_many_parameter_as_stripe_says_it(
    merchant: str,
) -> None:
    customer: Any = stripe.Customer.create(metadata={f"k{i}": "v" for i in range(50)})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.Charge.create(customer=customer.id, currency="usd")  # no amount
    assert (missing.value.code, missing.value.param) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        extra: dict[str, Any] = {"colour": "red"}  # not one of the SDK's parameters
        stripe.Charge.create(customer=customer.id, amount=100, currency="usd", **extra)
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "colour")
    with pytest.raises(stripe.InvalidRequestError) as full:
        stripe.Customer.modify(customer.id, metadata={"k50": "v"})
    assert (full.value.code, full.value.param) == ("parameter_invalid", "metadata")
    room: Any = stripe.Customer.modify(customer.id, metadata={"k0": "", "k50": "v"})
    kept = room.metadata.to_dict()
    assert len(kept) == 50 and "k0" not in kept and kept["k50"] == "v"


def test_unserved_stripe_resources_answer_404_with_a_clear_message(merchant: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.PaymentIntent.create(amount=100, currency="usd")
    assert missing.value.http_status == 404
    assert "does not serve" in str(missing.value.user_message)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_same_card_flow_with_stripe_node(
    stack: Stack, receiver: tuple[str, list[tuple[bytes, str]]]
) -> None:
    if not (NODE_DIR / "node_modules" / "stripe").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    url, received = receiver
    keys = create_marketplace(stack.opts, stack.secrets, "stripe-node")
    SENT.extend([testcards.SUCCEEDS, testcards.DECLINED])
    config = {"key": keys.sk_test, "port": stack.opts.ports.edge, "webhook_url": url}
    run = subprocess.run(
        ["node", "checkout.mjs", json.dumps(config)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["token"]["object"] == "token"
    assert seen["charge"]["status"] == "succeeded" and seen["charge"]["paid"] is True
    assert (seen["decline"]["type"], seen["decline"]["code"]) == (
        "StripeCardError",
        "card_declined",
    )
    assert seen["decline"]["statusCode"] == 402
    assert (seen["refund"]["status"], seen["refund"]["amount"]) == ("succeeded", 700)
    # auto-pagination one charge a page: the decline (newest), then the charge.
    assert len(seen["listed"]) == 2 and seen["listed"][1] == seen["charge"]["id"]

    wait_for(received)
    payload, header = received[0]
    verify = subprocess.run(
        ["node", "verify.mjs", json.dumps({"secret": seen["secret"], "header": header})],
        cwd=NODE_DIR,
        input=payload.decode(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout) == {"type": "charge.succeeded", "id": seen["charge"]["id"]}


def test_no_card_number_sent_through_the_sdks_rests_anywhere(stack: Stack) -> None:
    """Databases and logs of every service: only the vault holds the numbers, encrypted."""
    assert SENT
    assert files_holding(stack.opts.data_dir, SENT) == []
