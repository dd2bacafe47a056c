"""Webhooks against a real receiving server: signed, retried with backoff, dead-lettered."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.webhooks.signing import HEADER, SignatureError, verify
from tests.api.conftest import FAST_WEBHOOKS, Stacks
from tests.helpers.servers import serving


@dataclass
class Receiver:
    """A merchant's webhook endpoint: fails the first `failures` requests, then accepts."""

    url: str = ""
    failures: int = 0
    received: list[tuple[float, bytes, str]] = field(default_factory=list)  # time, body, sig

    def accepted(self) -> list[tuple[float, bytes, str]]:
        return self.received[self.failures :]


@pytest.fixture(scope="module")
def receivers() -> Iterator[dict[str, Receiver]]:
    boxes: dict[str, Receiver] = {}

    async def hook(request: Request) -> Response:
        box = boxes[request.path_params["name"]]
        box.received.append((time.monotonic(), await request.body(), request.headers[HEADER]))
        return Response(status_code=500 if len(box.received) <= box.failures else 204)

    with serving(Starlette(routes=[Route("/{name}", hook, methods=["POST"])])) as url:
        boxes["_base"] = Receiver(url=url)
        yield boxes


def receiver(receivers: dict[str, Receiver], name: str, failures: int = 0) -> Receiver:
    box = Receiver(url=f"{receivers['_base'].url}/{name}", failures=failures)
    receivers[name] = box
    return box


def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def endpoint(stacks: Stacks, shop: Any, box: Receiver, events: list[str]) -> dict[str, Any]:
    with stacks.client(shop.sk_test) as client:
        response = client.post(
            "/v1/webhook_endpoints", json={"url": box.url, "enabled_events": events}
        )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def charge(stacks: Stacks, shop: Any) -> str:
    with stacks.client(shop.sk_test) as client:
        body = {"card": stacks.token(shop), "amount": 1500, "currency": "usd"}
        charge_id: str = client.post("/v1/charges", json=body).json()["id"]
    return charge_id


def deliveries(stacks: Stacks, shop: Any, **params: str) -> list[dict[str, Any]]:
    with stacks.client(shop.sk_test) as client:
        data: list[dict[str, Any]] = client.get("/v1/webhook_deliveries", params=params).json()[
            "data"
        ]
    return data


def test_a_delivery_verifies_from_the_raw_body_with_the_endpoint_secret(
    sqlite_stacks: Stacks, receivers
) -> None:
    shop = sqlite_stacks.marketplace()
    box = receiver(receivers, "signed")
    hook = endpoint(sqlite_stacks, shop, box, ["charge.succeeded"])
    assert hook["secret"].startswith("whsec_")
    charge_id = charge(sqlite_stacks, shop)
    until(lambda: len(box.received) == 1)
    _, raw, signature = box.received[0]
    assert verify(raw, signature, hook["secret"]) > 0
    event = json.loads(raw)
    assert (event["type"], event["data"]["object"]["id"]) == ("charge.succeeded", charge_id)
    with pytest.raises(SignatureError):
        verify(raw.replace(b"1500", b"1501"), signature, hook["secret"])
    with pytest.raises(SignatureError):
        verify(raw, signature, hook["secret"], now=time.time() + 301)  # a replay, too late
    with sqlite_stacks.client(shop.sk_test) as client:
        shown = client.get(f"/v1/webhook_endpoints/{hook['id']}").json()
    assert "secret" not in shown  # shown once, at creation


def test_a_rolled_secret_signs_the_next_deliveries(sqlite_stacks: Stacks, receivers) -> None:
    shop = sqlite_stacks.marketplace()
    box = receiver(receivers, "rolled")
    hook = endpoint(sqlite_stacks, shop, box, ["charge.succeeded"])
    with sqlite_stacks.client(shop.sk_test) as client:
        rolled = client.post(f"/v1/webhook_endpoints/{hook['id']}/roll")
    assert rolled.status_code == 200, rolled.text
    secret = rolled.json()["secret"]
    assert secret.startswith("whsec_") and secret != hook["secret"]
    charge(sqlite_stacks, shop)
    until(lambda: len(box.received) == 1)
    _, raw, signature = box.received[0]
    assert verify(raw, signature, secret) > 0
    with pytest.raises(SignatureError):
        verify(raw, signature, hook["secret"])


def test_a_receiver_failing_four_times_gets_the_event_once_it_recovers(
    stacks: Stacks, shop, receivers
) -> None:
    box = receiver(receivers, f"flaky-{stacks.store}", failures=4)
    endpoint(stacks, shop, box, ["*"])
    charge_id = charge(stacks, shop)
    until(lambda: len(box.received) == 5)
    accepted = box.accepted()
    assert len(accepted) == 1
    assert json.loads(accepted[0][1])["data"]["object"]["id"] == charge_id
    times = [t for t, _, _ in box.received]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    base, cap = (
        FAST_WEBHOOKS["webhook_backoff_seconds"],
        FAST_WEBHOOKS["webhook_backoff_max_seconds"],
    )
    assert all(gap >= min(base * 2**n, cap) * 0.95 for n, gap in enumerate(gaps)), (
        gaps
    )  # exponential backoff, capped
    until(lambda: deliveries(stacks, shop, status="succeeded") != [])
    (done,) = deliveries(stacks, shop)
    assert (done["status"], done["attempts"], done["last_response_status"]) == ("succeeded", 5, 204)


def test_a_receiver_that_never_succeeds_lands_in_the_dead_letter_list_and_can_be_redelivered(
    stacks: Stacks, shop, receivers
) -> None:
    box = receiver(receivers, f"down-{stacks.store}", failures=10**6)
    hook = endpoint(stacks, shop, box, ["charge.succeeded"])
    charge(stacks, shop)
    until(lambda: deliveries(stacks, shop, status="dead") != [])
    (dead,) = deliveries(stacks, shop, status="dead", endpoint=hook["id"])
    assert (dead["attempts"], dead["last_error"], dead["next_attempt"]) == (5, "status 500", None)
    assert len(box.received) == 5
    box.failures = len(box.received)  # the merchant fixes the endpoint
    with stacks.client(shop.sk_test) as client:
        again = client.post(f"/v1/webhook_deliveries/{dead['id']}/retry")
    assert (again.status_code, again.json()["status"]) == (200, "pending")
    until(lambda: deliveries(stacks, shop, status="succeeded") != [])
    assert len(box.accepted()) == 1


def test_only_subscribed_events_are_delivered_and_a_disabled_endpoint_gets_nothing(
    sqlite_stacks: Stacks, receivers
) -> None:
    shop = sqlite_stacks.marketplace()
    refunds_only = receiver(receivers, "refunds-only")
    endpoint(sqlite_stacks, shop, refunds_only, ["refund.succeeded"])
    off = receiver(receivers, "off")
    hook = endpoint(sqlite_stacks, shop, off, ["*"])
    with sqlite_stacks.client(shop.sk_test) as client:
        client.post(f"/v1/webhook_endpoints/{hook['id']}", json={"disabled": True})
        charge_id = charge(sqlite_stacks, shop)
        client.post("/v1/refunds", json={"charge": charge_id})
    until(lambda: len(refunds_only.received) == 1)
    time.sleep(0.3)
    assert [json.loads(b)["type"] for _, b, _ in refunds_only.received] == ["refund.succeeded"]
    assert off.received == []


def test_an_endpoint_url_must_be_http(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        response = client.post(
            "/v1/webhook_endpoints", json={"url": "file:///etc/passwd", "enabled_events": ["*"]}
        )
    assert (response.status_code, response.json()["error"]["param"]) == (400, "url")
