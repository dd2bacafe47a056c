"""What a merchant's money depends on, attacked through a running stack and the edge by a
payments engineer who has debugged Stripe integrations: Idempotency-Key handling
(api/idempotency.py, api/web/idempotent.py), events and webhooks (api/events.py,
api/webhooks/: signing, delivery, endpoints) and lists (api/web/listing.py), each held
against what Stripe documents.

Held: a key replays its first answer (status, body, `Idempotent-Replayed: true`), refuses
other parameters, path or query with 400 `idempotency_error`, is scoped per marketplace and
mode, stores nothing for a request refused before it ran, and keeps what ran (a 404, a
402 decline); odd key bytes, lengths and doubled headers are refused; concurrent requests
and a retry after a lost answer make one charge. Deliveries verify with stripe-python's
`Webhook.construct_event`, a redelivery is the same event freshly signed, a redirect is
not followed, events stay in their marketplace and mode, production refuses private
destinations; lists read `limit`, `created` and cursors strictly and page without gaps.

Found and fixed (their tests stay): an endpoint's signing secret rested in the API's
database whenever it was made with an Idempotency-Key (every stripe-python POST has one);
`type=charge.*` (Stripe's wildcard) was refused; a marketplace could register any number
of endpoints (Stripe: 16); one slow endpoint held every marketplace's webhooks.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from api.config import Settings
from api.webhooks import destinations
from strongroom import testcards
from strongroom.marketplaces import MarketplaceKeys
from tests.attack.conftest import error, exchange, fresh, get, post, request, tokenise
from tests.e2e.conftest import Stack, files_holding
from tests.helpers.servers import serving

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]


# -- a merchant's webhook receiver ---------------------------------------------------------


@dataclass
class Arrival:
    body: bytes
    headers: dict[str, str]
    at: float


@dataclass
class Hooks:
    """One local server for every endpoint below, by the last path segment: `redirect-…`
    answers 307 to `landed-…`, `drip-…` answers 200 and then one byte a second until
    `stop` is set; anything else 200 at once."""

    url: str
    tls_url: str  # the same server's routes over https (live endpoints must be https)
    got: dict[str, list[Arrival]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def wait(self, name: str, count: int = 1, timeout: float = 15.0) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while len(self.got.get(name, [])) < count:
            assert time.monotonic() < deadline, f"{count} deliveries to /{name} never arrived"
            time.sleep(0.02)
        return self.got[name]


@pytest.fixture(scope="module")
def hooks(target: Stack) -> Iterator[Hooks]:
    box: list[Hooks] = []

    async def receive(req: Request) -> Response:
        name = req.path_params["name"]
        box[0].got.setdefault(name, []).append(
            Arrival(await req.body(), dict(req.headers), time.monotonic())
        )
        if name.startswith("redirect-"):
            landed = name.replace("redirect-", "landed-", 1)
            return RedirectResponse(f"{box[0].url}/{landed}", status_code=307)
        if name.startswith("drip-"):

            async def drip() -> AsyncIterator[bytes]:
                while not box[0].stop.is_set():
                    yield b" "
                    await asyncio.sleep(1)

            return StreamingResponse(drip(), status_code=200)
        return Response(status_code=200)

    app = Starlette(routes=[Route("/{name}", receive, methods=["POST"])])
    with serving(app) as url, serving(app, tls=target.webhook_tls) as tls_url:
        box.append(Hooks(url, tls_url))
        try:
            yield box[0]
        finally:
            box[0].stop.set()


# -- helpers -----------------------------------------------------------------------------


def charges_of(target: Stack, key: str, amount: int) -> list[str]:
    """The ids of the marketplace's charges of this (test-unique) amount."""
    listed = get(target, key, "/v1/charges", limit=100).json()["data"]
    return [c["id"] for c in listed if c["amount"] == amount]


def endpoint(target: Stack, key: str, url: str, events: list[str] | None = None) -> dict[str, Any]:
    made = post(
        target, key, "/v1/webhook_endpoints", {"url": url, "enabled_events": events or ["*"]}
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def charge(target: Stack, keys: MarketplaceKeys, amount: int) -> dict[str, Any]:
    token = tokenise(target, keys.pk_test)
    made = post(
        target, keys.sk_test, "/v1/charges", {"source": token, "amount": amount, "currency": "usd"}
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def deliveries(target: Stack, key: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = get(target, key, "/v1/webhook_deliveries", **params).json()[
        "data"
    ]
    return found


# -- Idempotency-Key -----------------------------------------------------------------------


def test_a_key_replays_its_first_answer_and_refuses_other_parameters(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    key, amount = str(uuid.uuid4()), 3101
    body = {"source": card, "amount": amount, "currency": "usd"}
    first = post(target, shop.sk_test, "/v1/charges", body, key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = post(target, shop.sk_test, "/v1/charges", body, key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"

    other_body = post(target, shop.sk_test, "/v1/charges", {**body, "amount": amount + 1}, key)
    other_path = post(target, shop.sk_test, "/v1/customers", {"email": "a@shop.example"}, key)
    with target.client(shop.sk_test) as api:
        other_query = api.post(
            "/v1/charges",
            params={"expand[]": "customer"},
            json=body,
            headers={"idempotency-key": key},
        )
    for refused in (other_body, other_path, other_query):
        assert refused.status_code == 400, refused.text
        assert error(refused)["type"] == "idempotency_error"
        assert error(refused)["code"] == "idempotency_key_reused"
        assert refused.headers["stripe-should-retry"] == "false"
    # Nothing ran twice, nothing ran for the refused ones.
    assert charges_of(target, shop.sk_test, amount) == [first.json()["id"]]
    assert charges_of(target, shop.sk_test, amount + 1) == []


def test_keys_are_per_marketplace_and_mode(target: Stack, shop: MarketplaceKeys) -> None:
    other = fresh(target, "another shop")
    key = f"shared-{uuid.uuid4()}"
    made = [
        post(target, sk, "/v1/customers", {"email": "x@shop.example"}, key)
        for sk in (shop.sk_test, shop.sk_live, other.sk_test)
    ]
    assert [m.status_code for m in made] == [201, 201, 201], [m.text for m in made]
    assert not any("idempotent-replayed" in m.headers for m in made)
    assert len({m.json()["id"] for m in made}) == 3
    assert [m.json()["livemode"] for m in made] == [False, True, False]
    # Each replays its own.
    for sk, first in zip((shop.sk_test, shop.sk_live, other.sk_test), made, strict=True):
        again = post(target, sk, "/v1/customers", {"email": "x@shop.example"}, key)
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"


def test_a_refused_request_stores_nothing_and_one_that_ran_is_kept(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    # Malformed: nothing ran, nothing kept; fixed and sent again under the same key, it runs.
    key, amount = str(uuid.uuid4()), 3102
    bad = post(target, shop.sk_test, "/v1/charges", {"source": card, "amount": amount}, key)
    assert (bad.status_code, error(bad)["param"]) == (400, "currency")
    fixed = post(
        target,
        shop.sk_test,
        "/v1/charges",
        {"source": card, "amount": amount, "currency": "usd"},
        key,
    )
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers

    # A customer that does not exist: the request ran, its 404 is the key's answer (Stripe).
    key = str(uuid.uuid4())
    missing = {"customer": "cus_" + "Q" * 20, "amount": amount, "currency": "usd"}
    first = post(target, shop.sk_test, "/v1/charges", missing, key)
    assert (first.status_code, error(first)["code"]) == (404, "resource_missing")
    again = post(target, shop.sk_test, "/v1/charges", missing, key)
    assert (again.status_code, again.json()) == (404, first.json())
    assert again.headers["idempotent-replayed"] == "true"

    # A decline is an outcome: the 402 and its charge id are replayed, nothing charged twice.
    declined = tokenise(target, shop.pk_test, testcards.DECLINED)
    key, body = str(uuid.uuid4()), {"source": declined, "amount": 3103, "currency": "usd"}
    first = post(target, shop.sk_test, "/v1/charges", body, key)
    assert (first.status_code, error(first)["type"]) == (402, "card_error"), first.text
    again = post(target, shop.sk_test, "/v1/charges", body, key)
    assert (again.status_code, error(again)["charge"]) == (402, error(first)["charge"])
    assert again.headers["idempotent-replayed"] == "true"
    assert charges_of(target, shop.sk_test, 3103) == [error(first)["charge"]]


def test_odd_keys_are_refused_before_anything_runs(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    amount = 3104
    body = {"source": card, "amount": amount, "currency": "usd"}
    longest = post(target, shop.sk_test, "/v1/charges", body, "k" * 255)
    assert longest.status_code == 201, longest.text
    too_long = post(target, shop.sk_test, "/v1/charges", {**body, "amount": amount + 1}, "k" * 256)
    assert (too_long.status_code, error(too_long)["code"]) == (400, "idempotency_key_invalid")

    raw = json.dumps({**body, "amount": amount + 1}).encode()
    sent = {
        "latin-1 bytes": ["Idempotency-Key: \xff\xfe"],
        "blank": ["Idempotency-Key:    "],
        "two keys": ["Idempotency-Key: one", "Idempotency-Key: two"],
    }
    for name, lines in sent.items():
        [answer] = exchange(
            target, request(shop.sk_test, raw, "Content-Type: application/json", *lines)
        )
        assert (answer.status, answer.code) == (400, "idempotency_key_invalid"), name
    # A control character is not HTTP: the edge refuses the request itself.
    [answer] = exchange(
        target,
        request(shop.sk_test, raw, "Content-Type: application/json", "Idempotency-Key: a\x01b"),
    )
    assert answer.status == 400
    assert charges_of(target, shop.sk_test, amount + 1) == []


def test_concurrent_requests_under_one_key_make_one_charge(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    key, amount = str(uuid.uuid4()), 3105
    body = {"source": card, "amount": amount, "currency": "usd"}

    def attempt(_: int) -> tuple[int, str | None, str]:
        answer = post(target, shop.sk_test, "/v1/charges", body, key)
        made = answer.json()
        said = made["id"] if answer.status_code == 201 else made["error"]["code"]
        return answer.status_code, answer.headers.get("idempotent-replayed"), said

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(attempt, range(12)))
    assert {(s, said) for s, _, said in answers if s != 201} <= {(409, "idempotency_key_in_flight")}
    ran = [said for s, replayed, said in answers if s == 201 and replayed is None]
    ids = {said for s, _, said in answers if s == 201}
    assert len(ran) == 1 and ids == set(ran), answers
    assert charges_of(target, shop.sk_test, amount) == ran


def test_a_retry_after_the_answer_was_lost_gets_the_same_charge(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    key, amount = str(uuid.uuid4()), 3106
    raw = json.dumps({"source": card, "amount": amount, "currency": "usd"}).encode()
    lost = request(shop.sk_test, raw, "Content-Type: application/json", f"Idempotency-Key: {key}")
    with socket.create_connection(("127.0.0.1", target.opts.ports.edge)) as s:
        s.sendall(lost)  # and hang up before the answer
    deadline = time.monotonic() + 20
    while True:
        with target.client(shop.sk_test) as api:
            retry = api.post(
                "/v1/charges",
                content=raw,
                headers={"idempotency-key": key, "content-type": "application/json"},
            )
        if retry.status_code != 409:
            break
        assert time.monotonic() < deadline, "the key stayed in flight"
        time.sleep(0.05)
    assert retry.status_code == 201, retry.text
    assert charges_of(target, shop.sk_test, amount) == [retry.json()["id"]]


# -- webhooks --------------------------------------------------------------------------


SIGNATURE = re.compile(r"t=(\d+),v1=([0-9a-f]{64})")


def test_a_delivery_verifies_with_stripe_python_and_a_redelivery_is_the_same_event(
    target: Stack, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = fresh(target, "verifier")
    name = f"verify-{uuid.uuid4().hex[:8]}"
    made = endpoint(target, keys.sk_test, f"{hooks.url}/{name}", ["charge.succeeded"])
    secret = made["secret"]
    assert secret.startswith("whsec_")
    shown = get(target, keys.sk_test, f"/v1/webhook_endpoints/{made['id']}").json()
    assert "secret" not in shown  # Stripe: only returned at creation

    paid = charge(target, keys, 3201)
    [first] = hooks.wait(name)
    header = first.headers["stripe-signature"]
    signed = SIGNATURE.fullmatch(header)
    assert signed, header
    assert first.headers["strongroom-signature"] == header
    assert abs(int(signed.group(1)) - time.time()) < 30
    event = stripe.Webhook.construct_event(first.body, header, secret)
    assert (event["type"], event["livemode"]) == ("charge.succeeded", False)
    assert event["data"]["object"]["id"] == paid["id"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(first.body.replace(b"3201", b"3202"), header, secret)
    # Replayed by whoever captured it, past stripe-python's tolerance: refused.
    later = int(signed.group(1)) + 301
    monkeypatch.setattr(stripe._webhook.time, "time", lambda: float(later))  # type: ignore[attr-defined]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(first.body, header, secret)
    monkeypatch.undo()

    # Redelivered on demand: the same event id (the merchant dedupes by it), signed afresh.
    [delivery] = deliveries(target, keys.sk_test, endpoint=made["id"])
    assert delivery["status"] == "succeeded"
    redone = post(target, keys.sk_test, f"/v1/webhook_deliveries/{delivery['id']}/retry", {})
    assert redone.status_code == 200, redone.text
    second = hooks.wait(name, 2)[1]
    again = stripe.Webhook.construct_event(second.body, second.headers["stripe-signature"], secret)
    assert again["id"] == event["id"]
    resigned = SIGNATURE.fullmatch(second.headers["stripe-signature"])
    assert resigned and int(resigned.group(1)) >= int(signed.group(1))


def test_a_redirect_is_a_failed_attempt_never_followed(target: Stack, hooks: Hooks) -> None:
    keys = fresh(target, "redirected")
    suffix = uuid.uuid4().hex[:8]
    made = endpoint(target, keys.sk_test, f"{hooks.url}/redirect-{suffix}", ["charge.succeeded"])
    charge(target, keys, 3202)
    hooks.wait(f"redirect-{suffix}")
    deadline = time.monotonic() + 10
    while not (found := deliveries(target, keys.sk_test, endpoint=made["id"]))[0]["attempts"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [delivery] = found
    assert (delivery["status"], delivery["last_response_status"]) == ("pending", 307)
    assert f"landed-{suffix}" not in hooks.got


def test_events_stay_in_their_marketplace_and_mode(target: Stack, hooks: Hooks) -> None:
    a, b = fresh(target, "A"), fresh(target, "B")
    tag = uuid.uuid4().hex[:8]
    endpoint(target, a.sk_test, f"{hooks.url}/a-test-{tag}")
    endpoint(target, a.sk_live, f"{hooks.tls_url}/a-live-{tag}")
    b_test = endpoint(target, b.sk_test, f"{hooks.url}/b-test-{tag}")
    b_paid, a_paid = charge(target, b, 3203), charge(target, a, 3204)
    [to_a] = hooks.wait(f"a-test-{tag}")
    [to_b] = hooks.wait(f"b-test-{tag}")
    assert json.loads(to_a.body)["data"]["object"]["id"] == a_paid["id"]
    assert json.loads(to_b.body)["data"]["object"]["id"] == b_paid["id"]
    time.sleep(1)
    assert f"a-live-{tag}" not in hooks.got  # a test event never reaches a live endpoint
    assert len(hooks.got[f"a-test-{tag}"]) == 1

    b_event = json.loads(to_b.body)["id"]
    [b_delivery] = deliveries(target, b.sk_test, endpoint=b_test["id"])
    never = "Z" * 24
    theirs_all = [
        get(target, a.sk_test, f"/v1/events/{b_event}"),
        get(target, a.sk_live, f"/v1/events/{json.loads(to_a.body)['id']}"),
        post(target, a.sk_test, f"/v1/webhook_deliveries/{b_delivery['id']}/retry", {}),
        post(
            target,
            a.sk_test,
            f"/v1/webhook_endpoints/{b_test['id']}",
            {"url": f"{hooks.url}/x-{tag}"},
        ),
    ]
    for theirs in theirs_all:
        assert (theirs.status_code, error(theirs)["code"]) == (404, "resource_missing"), theirs.text
    assert deliveries(target, a.sk_test, endpoint=b_test["id"]) == []
    assert deliveries(target, a.sk_test, event=b_event) == []
    # A cursor of another marketplace is answered as an id never issued.
    theirs = get(target, a.sk_test, "/v1/charges", starting_after=b_paid["id"])
    unknown = get(target, a.sk_test, "/v1/charges", starting_after="ch_" + never)
    assert theirs.status_code == unknown.status_code == 404
    assert error(theirs)["message"].replace(b_paid["id"], "X") == error(unknown)["message"].replace(
        "ch_" + never, "X"
    )


def test_production_refuses_private_webhook_destinations() -> None:
    """`strongroom up` allows private addresses (local receivers); nothing else may."""
    assert Settings.model_fields["webhook_allow_private_networks"].default is False
    deployed = [p for p in (REPO / "terraform").rglob("*") if p.is_file()]
    assert deployed and not any(b"ALLOW_PRIVATE_NETWORKS" in p.read_bytes() for p in deployed), (
        "the deployment turns private destinations on"
    )
    for url in (
        "http://localhost:8082/v1/charges",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0.0.0.0:8084/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/",
        "http://10.0.0.1/",
        "https://192.168.1.1/",
        "http://metadata.google.internal/",
    ):
        with pytest.raises(destinations.DestinationRefused):
            destinations.check(url, allow_private=False)


# -- lists ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=1e1", "limit"),
        ("limit=%EF%BC%95", "limit"),  # fullwidth 5
        ("limit=%D9%A3", "limit"),  # Arabic-Indic 3
        ("limit[]=3", "limit"),
        ("created[gte]=%D9%A1%D9%A7%D9%A3%D9%A5", "created[gte]"),
        ("created[gte]=1.5", "created[gte]"),
        ("created[lt]=-1", "created[lt]"),
        ("created=99999999999999", "created"),
        ("starting_after=", "starting_after"),
    ],
)
def test_list_parameters_are_read_strictly(
    target: Stack, shop: MarketplaceKeys, query: str, param: str
) -> None:
    with target.client(shop.sk_test) as api:
        answer = api.get(f"/v1/events?{query}")
    assert (answer.status_code, error(answer).get("param")) == (400, param), answer.text


def test_a_repeated_list_parameter_is_refused(target: Stack, shop: MarketplaceKeys) -> None:
    with target.client(shop.sk_test) as api:
        answer = api.get("/v1/charges?limit=1&limit=100")
    assert (answer.status_code, error(answer)["code"]) == (400, "invalid_form")


def test_pages_walk_every_event_once_both_ways(
    target: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = fresh(target, "pager")
    for n in range(7):
        made = post(target, keys.sk_test, "/v1/customers", {"email": f"c{n}@shop.example"})
        assert made.status_code == 201, made.text
    whole = [e["id"] for e in get(target, keys.sk_test, "/v1/events", limit=100).json()["data"]]
    assert len(whole) == 7
    walked: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = get(target, keys.sk_test, "/v1/events", **params).json()
        walked += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        params = {"limit": 2, "starting_after": walked[-1]}
    assert walked == whole
    back: list[str] = []
    params = {"limit": 3, "ending_before": whole[-1]}
    while True:
        page = get(target, keys.sk_test, "/v1/events", **params).json()
        back = [e["id"] for e in page["data"]] + back
        if not page["has_more"]:
            break
        params = {"limit": 3, "ending_before": back[0]}
    assert back == whole[:-1]
    # stripe-python's auto-paging walks the same list.
    monkeypatch.setattr(stripe, "api_base", target.edge_url)
    listed = stripe.Event.list(limit=3, api_key=keys.sk_test)
    assert [e["id"] for e in listed.auto_paging_iter()] == whole


# -- holes -----------------------------------------------------------------------------


def test_an_endpoints_signing_secret_never_rests_in_the_api_database(
    target: Stack, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = fresh(target, "sdk webhooks")
    monkeypatch.setattr(stripe, "api_base", target.edge_url)
    made = stripe.WebhookEndpoint.create(
        url=f"{hooks.url}/sdk-{uuid.uuid4().hex[:8]}",
        enabled_events=["charge.succeeded"],
        api_key=keys.sk_test,
    )
    secret = str(made["secret"])
    assert secret.startswith("whsec_")
    assert files_holding(target.opts.data_dir, [secret]) == []


def test_a_replayed_create_or_roll_shows_the_secret_it_first_showed(
    target: Stack, hooks: Hooks
) -> None:
    """The key keeps the secret's version, not the secret: a replay derives the same one,
    also after a later roll, and nothing of it rests in the database."""
    keys = fresh(target, "replayed secrets")
    body = {"url": f"{hooks.url}/replay-{uuid.uuid4().hex[:8]}", "enabled_events": ["*"]}
    made_key, roll_key = "made-" + uuid.uuid4().hex, "roll-" + uuid.uuid4().hex
    made = post(target, keys.sk_test, "/v1/webhook_endpoints", body, made_key)
    assert made.status_code == 201, made.text
    roll_path = f"/v1/webhook_endpoints/{made.json()['id']}/roll"
    rolled = post(target, keys.sk_test, roll_path, {}, roll_key)
    assert rolled.status_code == 200, rolled.text
    post(target, keys.sk_test, roll_path, {})  # a later roll, unkeyed: version 3
    again = post(target, keys.sk_test, "/v1/webhook_endpoints", body, made_key)
    rolled_again = post(target, keys.sk_test, roll_path, {}, roll_key)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == made.json()
    assert rolled_again.json() == rolled.json()
    assert made.json()["secret"] != rolled.json()["secret"]
    secrets_shown = [made.json()["secret"], rolled.json()["secret"]]
    assert files_holding(target.opts.data_dir, secrets_shown) == []


def test_the_event_type_filter_takes_stripes_wildcard(target: Stack) -> None:
    keys = fresh(target, "wildcard")
    post(target, keys.sk_test, "/v1/customers", {"email": "w@shop.example"})
    charge(target, keys, 3301)
    answer = get(target, keys.sk_test, "/v1/events", type="charge.*")
    assert answer.status_code == 200, answer.text
    assert [e["type"] for e in answer.json()["data"]] == ["charge.succeeded"]


def test_a_marketplace_registers_at_most_sixteen_endpoints(target: Stack) -> None:
    keys = fresh(target, "many endpoints")
    for n in range(16):
        endpoint(target, keys.sk_test, f"https://hooks{n}.shop.example/", ["customer.deleted"])
    seventeenth = post(
        target,
        keys.sk_test,
        "/v1/webhook_endpoints",
        {"url": "https://hooks16.shop.example/", "enabled_events": ["customer.deleted"]},
    )
    assert seventeenth.status_code == 400, seventeenth.text


def test_a_slow_endpoint_of_one_marketplace_does_not_hold_up_anothers_webhooks(
    target: Stack, hooks: Hooks
) -> None:
    slow, other = fresh(target, "slow endpoint"), fresh(target, "punctual")
    tag = uuid.uuid4().hex[:8]
    endpoint(target, slow.sk_test, f"{hooks.url}/drip-{tag}", ["charge.succeeded"])
    endpoint(target, other.sk_test, f"{hooks.url}/punctual-{tag}", ["charge.succeeded"])
    try:
        charge(target, slow, 3401)
        hooks.wait(f"drip-{tag}")  # the worker is now reading the dripping answer
        charge(target, other, 3402)
        hooks.wait(f"punctual-{tag}", timeout=8)
    finally:
        hooks.stop.set()  # the drip ends; the worker goes on
