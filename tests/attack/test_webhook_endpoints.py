"""Webhook endpoints, attacked through running stacks where the last attack
(test_merchant_semantics.py) left them open: where a live endpoint may point, where a
delivery may connect, and how a secret is rolled without dropping a merchant's webhooks.

Two stacks: the attack package's `target` (a local stack: private destinations allowed,
its webhook worker trusting a test CA so a local https:// receiver stands in for a
merchant's), and `strict`, whose test-mode API refuses private destinations as production
does and resolves names through a DNS the attacker controls (a `sitecustomize` loaded
into that API process only, answering from a zone file the test writes, logging each
question).

Found and fixed (their tests stay):
- a live endpoint could be http://: live payments' events sent in clear text. Live mode
  now refuses http:// on create and update (400 `url_invalid`, param `url`, before an
  Idempotency-Key is taken), and the live worker sends nothing to an http:// URL stored
  before the rule;
- an IPv6 address carrying a private IPv4 one passed the destination check: NAT64
  (64:ff9b::7f00:1, and the local-use 64:ff9b:1::/48), 6to4, IPv4-compatible and
  IPv4-translated addresses were taken as public. Each is now judged by the IPv4 address
  it carries (api/webhooks/destinations.py);
- rolling a secret had no overlap: the first delivery after a roll failed every receiver
  still holding the old secret. A roll now takes `expires_in` (at most 24 h), during
  which each delivery carries two v1 signatures, as Stripe's do.

Held: a name is resolved once per attempt and the delivery connects to the address that
was checked (DNS rebinding reaches nothing); Teredo and IPv4-mapped forms were refused.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sqlite3
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys
from tests.attack.conftest import error, fresh, get, post, tokenise
from tests.e2e.conftest import Stack, start_stack
from tests.helpers.servers import serving

pytestmark = pytest.mark.e2e

SIGNATURES = re.compile(r"t=(\d+)((?:,v1=[0-9a-f]{64})+)")


# -- a merchant's receiver, over http and https ----------------------------------------------


@dataclass
class Receiver:
    """One app served twice: `url` over http, `tls_url` over https with a certificate the
    target stack trusts; what arrives is kept by the last path segment."""

    url: str
    tls_url: str
    got: dict[str, list[tuple[bytes, dict[str, str]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arrived(self, name: str) -> list[tuple[bytes, dict[str, str]]]:
        with self.lock:
            return list(self.got.get(name, []))

    def wait(
        self, name: str, count: int = 1, timeout: float = 20.0
    ) -> list[tuple[bytes, dict[str, str]]]:
        deadline = time.monotonic() + timeout
        while len(found := self.arrived(name)) < count:
            assert time.monotonic() < deadline, f"{count} deliveries to /{name} never arrived"
            time.sleep(0.02)
        return found


@pytest.fixture(scope="module")
def receiver(target: Stack) -> Iterator[Receiver]:
    box: list[Receiver] = []

    async def receive(request: Request) -> Response:
        body = await request.body()
        with box[0].lock:
            box[0].got.setdefault(request.path_params["name"], []).append(
                (body, dict(request.headers))
            )
        return Response(status_code=200)

    app = Starlette(routes=[Route("/{name}", receive, methods=["POST"])])
    with serving(app) as url, serving(app, tls=target.webhook_tls) as tls_url:
        box.append(Receiver(url, tls_url))
        yield box[0]


# -- the strict stack and the attacker's DNS -------------------------------------------------

# Loaded by the strict stack's test-mode API at start (PYTHONPATH): every lookup of a name
# in the zone file is answered from it (the n-th lookup of a name gets its n-th answer,
# the last one ever after) and logged; any other name is resolved as usual.
RESOLVER = """
import json, os, socket

_ZONE = os.environ.get("ATTACK_DNS_ZONE")
if _ZONE:
    _real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = (host.decode() if isinstance(host, bytes) else str(host)).lower().rstrip(".")
        with open(_ZONE) as f:
            answers = json.load(f).get(name)
        if answers is None:
            return _real(host, port, *args, **kwargs)
        with open(_ZONE + ".log", "a+") as log:
            log.seek(0)
            asked = log.read().split().count(name)
            log.write(name + "\\n")
        address = answers[min(asked, len(answers) - 1)]
        port = int(port or 0)
        if ":" in address:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    socket.getaddrinfo = getaddrinfo
"""


@dataclass
class Dns:
    zone: Path

    def answer(self, name: str, *addresses: str) -> None:
        """`name` answers `addresses` in turn from now on, its count of lookups reset."""
        zone = json.loads(self.zone.read_text())
        self.zone.write_text(json.dumps({**zone, name: list(addresses)}))
        log = Path(f"{self.zone}.log")
        if log.exists():
            log.write_text("".join(f"{n}\n" for n in log.read_text().split() if n != name))

    def lookups(self, name: str) -> int:
        log = Path(f"{self.zone}.log")
        return log.read_text().split().count(name) if log.exists() else 0


@dataclass
class Strict:
    stack: Stack
    dns: Dns


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Strict]:
    root = tmp_path_factory.mktemp("webhook-strict")
    resolver = root / "resolver"
    resolver.mkdir()
    (resolver / "sitecustomize.py").write_text(textwrap.dedent(RESOLVER))
    zone = root / "zone.json"
    zone.write_text("{}")
    for stack in start_stack(root / "data", router_test_rate_per_key=0, router_test_rate=0):
        path = os.pathsep.join(p for p in (str(resolver), os.environ.get("PYTHONPATH")) if p)
        stack.supervisor.restart(
            "api-test",
            {
                "API_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "false",  # as production
                "API_WEBHOOK_TIMEOUT_SECONDS": "2",
                "PYTHONPATH": path,
                "ATTACK_DNS_ZONE": str(zone),
            },
        )
        yield Strict(stack, Dns(zone))


# -- helpers ---------------------------------------------------------------------------------


def endpoint(stack: Stack, key: str, url: str) -> dict[str, Any]:
    made = post(
        stack, key, "/v1/webhook_endpoints", {"url": url, "enabled_events": ["charge.succeeded"]}
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def charge(stack: Stack, keys: MarketplaceKeys, amount: int, live: bool = False) -> str:
    """A charge that succeeds (a charge.succeeded event); its id."""
    if live:
        token = tokenise(stack, keys.pk_live, testcards.generated_card())
    else:
        token = tokenise(stack, keys.pk_test)
    sk = keys.sk_live if live else keys.sk_test
    made = post(stack, sk, "/v1/charges", {"source": token, "amount": amount, "currency": "usd"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def attempted(stack: Stack, key: str, endpoint_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The endpoint's one delivery, once it has been attempted at least once."""
    deadline = time.monotonic() + timeout
    while True:
        found = get(stack, key, "/v1/webhook_deliveries", endpoint=endpoint_id).json()["data"]
        if found and found[0]["attempts"] >= 1:
            delivery: dict[str, Any] = found[0]
            return delivery
        assert time.monotonic() < deadline, f"no attempt to {endpoint_id}: {found}"
        time.sleep(0.05)


def signatures(header: str) -> list[str]:
    signed = SIGNATURES.fullmatch(header)
    assert signed, header
    return re.findall(r"v1=([0-9a-f]{64})", signed.group(2))


# -- 1. live endpoints are https -------------------------------------------------------------


def test_a_live_endpoint_must_be_https_and_a_test_one_may_be_http(
    target: Stack, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = fresh(target, "live https")
    tag = uuid.uuid4().hex[:8]
    key = f"live-{tag}"
    clear = post(
        target,
        keys.sk_live,
        "/v1/webhook_endpoints",
        {"url": f"{receiver.url}/clear-{tag}", "enabled_events": ["*"]},
        key,
    )
    assert clear.status_code == 400, clear.text
    assert (error(clear)["type"], error(clear)["code"], error(clear)["param"]) == (
        "invalid_request_error",
        "url_invalid",
        "url",
    )
    assert "https" in error(clear)["message"].lower()
    # Refused before it ran: nothing kept under the key, which then makes the https one.
    made = post(
        target,
        keys.sk_live,
        "/v1/webhook_endpoints",
        {"url": f"{receiver.tls_url}/live-{tag}", "enabled_events": ["charge.succeeded"]},
        key,
    )
    assert made.status_code == 201, made.text
    assert "idempotent-replayed" not in made.headers
    listed = get(target, keys.sk_live, "/v1/webhook_endpoints").json()["data"]
    assert [e["url"] for e in listed] == [f"{receiver.tls_url}/live-{tag}"]

    # Updated to http (any spelling): refused, the URL unchanged.
    path = f"/v1/webhook_endpoints/{made.json()['id']}"
    for url in (f"{receiver.url}/clear-{tag}", f"HTTP://127.0.0.1:1/clear-{tag}"):
        changed = post(target, keys.sk_live, path, {"url": url})
        assert (changed.status_code, error(changed)["param"]) == (400, "url"), changed.text
    assert get(target, keys.sk_live, path).json()["url"] == f"{receiver.tls_url}/live-{tag}"

    # stripe-python reads the refusal as Stripe's.
    monkeypatch.setattr(stripe, "api_base", target.edge_url)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.WebhookEndpoint.create(
            url=f"{receiver.url}/sdk-{tag}", enabled_events=["*"], api_key=keys.sk_live
        )
    assert (refused.value.http_status, refused.value.param) == (400, "url")

    # A live event reaches the https receiver, verifiable with the secret shown.
    paid = charge(target, keys, 4101, live=True)
    [(body, headers)] = receiver.wait(f"live-{tag}")
    event = stripe.Webhook.construct_event(body, headers["stripe-signature"], made.json()["secret"])
    assert (event["livemode"], event["data"]["object"]["id"]) == (True, paid)
    assert receiver.arrived(f"clear-{tag}") == [] and receiver.arrived(f"sdk-{tag}") == []

    # Test mode keeps http: a developer's local receiver.
    local = endpoint(target, keys.sk_test, f"{receiver.url}/test-{tag}")
    assert (
        post(
            target,
            keys.sk_test,
            f"/v1/webhook_endpoints/{local['id']}",
            {"url": f"{receiver.url}/test2-{tag}"},
        ).status_code
        == 200
    )
    tested = charge(target, keys, 4102)
    [(body, headers)] = receiver.wait(f"test2-{tag}")
    event = stripe.Webhook.construct_event(body, headers["stripe-signature"], local["secret"])
    assert (event["livemode"], event["data"]["object"]["id"]) == (False, tested)


def test_a_live_http_endpoint_stored_before_the_rule_is_sent_nothing(
    target: Stack, receiver: Receiver
) -> None:
    keys = fresh(target, "legacy live")
    tag = uuid.uuid4().hex[:8]
    made = endpoint(target, keys.sk_live, f"{receiver.tls_url}/legacy-{tag}")
    # As a row written before live mode refused http:// would read.
    database = target.opts.data_dir / "api-live" / "api.db"
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE webhook_endpoints SET url = ? WHERE id = ?",
            (f"{receiver.url}/legacy-{tag}", made["id"]),
        )
    charge(target, keys, 4103, live=True)
    delivery = attempted(target, keys.sk_live, made["id"])
    assert delivery["status"] == "pending"
    assert delivery["last_error"] == "destination refused: live mode sends only to https:// URLs"
    time.sleep(0.5)
    assert receiver.arrived(f"legacy-{tag}") == []


# -- 2. where a delivery may connect ---------------------------------------------------------


def teredo(server: str, client: str) -> str:
    """A Teredo address (RFC 4380): the client's IPv4 address stored inverted."""
    inverted = int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF
    value = (0x20010000 << 96) | (int(ipaddress.IPv4Address(server)) << 64) | inverted
    return str(ipaddress.IPv6Address(value))


# Each carries 127.0.0.1 or 10.0.0.1 to whatever translates or tunnels it.
CARRIERS = {
    "nat64": "64:ff9b::7f00:1",
    "nat64-private": "64:ff9b::a00:1",
    "nat64-local-use": "64:ff9b:1:7f00:1::",
    "sixtofour": "2002:7f00:1::1",
    "teredo": teredo("192.88.99.77", "127.0.0.1"),
    "compatible": "::7f00:1",
    "translated": "::ffff:0:7f00:1",
    "mapped": "::ffff:7f00:1",
}


def test_an_ipv6_address_carrying_a_private_ipv4_one_is_never_connected_to(
    strict: Strict, receiver: Receiver
) -> None:
    stack, keys = strict.stack, fresh(strict.stack, "ssrf")
    port = httpx.URL(receiver.url).port
    tag = uuid.uuid4().hex[:8]
    made = {}
    for kind, address in CARRIERS.items():
        name = f"{kind}-{tag}.attacker.test"
        strict.dns.answer(name, address)
        made[kind] = endpoint(stack, keys.sk_test, f"http://{name}:{port}/{kind}-{tag}")
    charge(stack, keys, 4201)
    for kind, hook in made.items():
        delivery = attempted(stack, keys.sk_test, hook["id"])
        assert (
            delivery["last_error"] == "destination refused: host resolves to a private address"
        ), (
            kind,
            CARRIERS[kind],
            delivery,
        )
        assert strict.dns.lookups(f"{kind}-{tag}.attacker.test") >= 1
    time.sleep(0.5)
    assert not any(receiver.arrived(f"{kind}-{tag}") for kind in CARRIERS)


def test_a_name_is_resolved_once_and_connected_to_where_it_was_checked(
    strict: Strict, receiver: Receiver
) -> None:
    """DNS rebinding: the first answer is public (NAT64 of a public IPv4 address, which
    the check passes), every later one 127.0.0.1, where the receiver listens."""
    stack, keys = strict.stack, fresh(strict.stack, "rebinding")
    port = httpx.URL(receiver.url).port
    tag = uuid.uuid4().hex[:8]
    name = f"rebind-{tag}.attacker.test"
    strict.dns.answer(name, "64:ff9b::c058:634d", "127.0.0.1")
    hook = endpoint(stack, keys.sk_test, f"http://{name}:{port}/rebind-{tag}")
    charge(stack, keys, 4202)
    delivery = attempted(stack, keys.sk_test, hook["id"])
    # The check passed (not refused), the connection went to the checked address (no
    # receiver there), and the name was asked once: the HTTP client did not ask again.
    assert not (delivery["last_error"] or "").startswith("destination refused"), delivery
    assert strict.dns.lookups(name) == 1
    # Asked again on a retry, it answers 127.0.0.1: refused by the check.
    retried = post(stack, keys.sk_test, f"/v1/webhook_deliveries/{delivery['id']}/retry", {})
    assert retried.status_code == 200, retried.text
    again = attempted(stack, keys.sk_test, hook["id"])  # a retry starts its attempts at 0
    assert again["last_error"] == "destination refused: host resolves to a private address"
    assert strict.dns.lookups(name) == 2
    time.sleep(0.5)
    assert receiver.arrived(f"rebind-{tag}") == []


# -- 3. rolling a secret with an overlap -----------------------------------------------------


def test_a_rolled_secret_keeps_signing_beside_the_new_one_until_it_expires(
    target: Stack, receiver: Receiver
) -> None:
    keys = fresh(target, "rolling")
    tag = uuid.uuid4().hex[:8]
    made = endpoint(target, keys.sk_live, f"{receiver.tls_url}/roll-{tag}")
    roll = f"/v1/webhook_endpoints/{made['id']}/roll"
    first = made["secret"]

    # Rolled with a day's overlap (stripe-python's form encoding): two v1 signatures, the
    # new secret's first; a receiver holding either verifies, another secret does not.
    with target.client(keys.sk_live) as api:
        rolled = api.post(roll, data={"expires_in": "86400"})
    assert rolled.status_code == 200, rolled.text
    second = rolled.json()["secret"]
    assert second != first
    charge(target, keys, 4301, live=True)
    [(body, headers)] = receiver.wait(f"roll-{tag}")
    header = headers["stripe-signature"]
    assert headers["strongroom-signature"] == header
    assert len(signatures(header)) == 2
    for secret in (second, first):
        assert stripe.Webhook.construct_event(body, header, secret)["type"] == "charge.succeeded"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_" + "x" * 43)
    only_second = re.sub(r",v1=[0-9a-f]{64}$", "", header)
    stripe.Webhook.construct_event(body, only_second, second)  # the new one's comes first

    # Rolled again with none: one signature, the newest secret's; neither older verifies.
    rolled = post(target, keys.sk_live, roll, {})
    third = rolled.json()["secret"]
    charge(target, keys, 4302, live=True)
    body, headers = receiver.wait(f"roll-{tag}", 2)[1]
    header = headers["stripe-signature"]
    assert len(signatures(header)) == 1
    stripe.Webhook.construct_event(body, header, third)
    for old in (first, second):
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, header, old)

    # An overlap ends when it said: a second's, then a delivery after it signs once.
    rolled = post(target, keys.sk_live, roll, {"expires_in": 1})
    fourth = rolled.json()["secret"]
    time.sleep(1.5)
    charge(target, keys, 4303, live=True)
    body, headers = receiver.wait(f"roll-{tag}", 3)[2]
    assert len(signatures(headers["stripe-signature"])) == 1
    stripe.Webhook.construct_event(body, headers["stripe-signature"], fourth)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["stripe-signature"], third)


def test_a_roll_keeps_an_old_secret_a_day_at_most(target: Stack, receiver: Receiver) -> None:
    keys = fresh(target, "rolling too long")
    made = endpoint(target, keys.sk_test, f"{receiver.url}/long-{uuid.uuid4().hex[:8]}")
    roll = f"/v1/webhook_endpoints/{made['id']}/roll"
    for refused in (
        {"expires_in": 86401},
        {"expires_in": -1},
        {"expires_in": "3600"},
        {"expires": 60},
    ):
        answer = post(target, keys.sk_test, roll, refused)
        assert answer.status_code == 400, (refused, answer.text)
        assert error(answer)["type"] == "invalid_request_error"
    # An overlap asked under an Idempotency-Key: a replay shows the same new secret.
    key = f"roll-{uuid.uuid4().hex}"
    rolled = post(target, keys.sk_test, roll, {"expires_in": 3600}, key)
    again = post(target, keys.sk_test, roll, {"expires_in": 3600}, key)
    assert rolled.status_code == again.status_code == 200, rolled.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["secret"] == rolled.json()["secret"] != made["secret"]
