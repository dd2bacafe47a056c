"""The Idempotency-Key contract over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import threading
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import api.app
import api.config
import api.marketplaces.admin
from api import idempotency
from api.ids import derived_id
from api.store.db import make_engine, session_factory
from tests.api.conftest import Stacks
from tests.helpers.servers import serving


def key() -> str:
    return secrets.token_hex(8)


def test_a_retry_gets_the_first_response_and_says_so(stacks: Stacks, shop) -> None:
    body = {"card": stacks.token(shop), "amount": 700, "currency": "usd"}
    k = key()
    with stacks.client(shop.sk_test, **{"idempotency-key": k}) as client:
        first = client.post("/v1/charges", json=body)
        again = client.post("/v1/charges", json=body)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        other = client.post("/v1/charges", json={**body, "amount": 701})
        assert (other.status_code, other.json()["error"]["code"]) == (400, "idempotency_key_reused")
        assert other.json()["error"]["type"] == "idempotency_error"
        assert other.headers["stripe-should-retry"] == "false"
        listed = client.get("/v1/charges", params={"limit": 100}).json()["data"]
    assert [c["id"] for c in listed].count(first.json()["id"]) == 1
    assert len(listed) == 1


def test_an_error_response_is_replayed_too(stacks: Stacks, shop) -> None:
    body = {"card": "card_" + "x" * 24, "amount": 100, "currency": "usd"}
    with stacks.client(shop.sk_test, **{"idempotency-key": key()}) as client:
        first = client.post("/v1/charges", json=body)
        again = client.post("/v1/charges", json=body)
    assert first.status_code == again.status_code == 404
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


def test_a_request_that_fails_validation_stores_nothing(stacks: Stacks, shop) -> None:
    k = key()
    with stacks.client(shop.sk_test, **{"idempotency-key": k}) as client:
        bad = client.post("/v1/customers", json={"email": 5})
        assert bad.status_code == 400
        good = client.post("/v1/customers", json={"email": "x@example.com"})
    assert good.status_code == 201, good.text


def test_every_post_honours_the_key(stacks: Stacks, shop) -> None:
    with stacks.client(shop.sk_test, **{"idempotency-key": key()}) as client:
        one = client.post("/v1/customers", json={"name": "Ada"})
        two = client.post("/v1/customers", json={"name": "Ada"})
    assert one.json()["id"] == two.json()["id"]
    with stacks.client(shop.sk_test) as client:
        assert len(client.get("/v1/customers").json()["data"]) == 1


def test_concurrent_duplicates_execute_one_charge_at_the_vault(stacks: Stacks, shop) -> None:
    body = {"card": stacks.token(shop, live=True), "amount": 4321, "currency": "usd"}
    k = key()
    responses: list[httpx.Response] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        with stacks.client(shop.sk_live, **{"idempotency-key": k}) as client:
            barrier.wait()
            responses.append(client.post("/v1/charges", json=body))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [r for r in responses if r.status_code == 201]
    others = [r.json()["error"]["code"] for r in responses if r.status_code != 201]
    assert created and set(others) <= {"idempotency_key_in_flight"}
    assert len({r.json()["id"] for r in created}) == 1
    charge_id = created[0].json()["id"]
    executed = [m["kind"] for m in stacks.network_messages() if m["reference"] == charge_id]
    assert executed == ["authorization", "capture"]  # one charge, executed once


def test_a_claim_left_by_a_dead_request_is_resumed_under_the_same_charge_id(
    stacks: Stacks, shop
) -> None:
    body = {"card": stacks.token(shop), "amount": 900, "currency": "usd"}
    k = key()
    settings = stacks.settings["test"]
    engine = make_engine(settings.resolved_database_url())
    try:
        # A request that claimed the key two minutes ago and then died with its process.
        digest = idempotency.request_hash("POST", "/v1/charges", "", body)
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
        claim = idempotency.begin(session_factory(engine), shop.id, k, digest, now=past)
        assert isinstance(claim, idempotency.Claim)
    finally:
        engine.dispose()
    with stacks.client(shop.sk_test, **{"idempotency-key": k}) as client:
        resumed = client.post("/v1/charges", json=body)
    assert resumed.status_code == 201, resumed.text
    secret = settings.key_hash_secret.get_secret_value().encode()
    assert resumed.json()["id"] == derived_id("ch", secret, claim.seed)


UPSTREAM_TIMEOUT = 2.0
UNANSWERED = UPSTREAM_TIMEOUT + 1.0


@pytest.fixture
def slow_vault_api(sqlite_stacks: Stacks, tmp_path) -> Iterator[tuple[str, list[str]]]:
    """A test stack whose vault answers card look-ups but never a charge in time (a charge
    of 503 cents: at once, 503 `network_unavailable`); with the charge ids it was sent."""
    charged: list[str] = []

    async def card(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "id": request.path_params["id"],
                "marketplace": request.query_params["marketplace"],
                "livemode": False,
                "brand": "visa",
                "bin": "424242",
                "last4": "4242",
                "exp_month": 12,
                "exp_year": 2040,
                "fingerprint": "f" * 16,
            }
        )

    async def charge(request: Request) -> JSONResponse:
        sent = await request.json()
        charged.append(sent["charge_id"])
        if sent["amount"] == 503:
            error = {"type": "api_error", "code": "network_unavailable", "message": "lost"}
            return JSONResponse({"error": error}, status_code=503)
        await asyncio.sleep(UNANSWERED)  # past the API's timeout, holding nothing else
        return JSONResponse({}, status_code=500)

    vault = Starlette(
        routes=[
            Route("/internal/v1/cards/{id}", card, methods=["GET"]),
            Route("/internal/v1/charges", charge, methods=["POST"]),
        ]
    )
    base = sqlite_stacks.settings["test"].model_dump()
    settings = api.config.Settings.model_validate(
        {
            **base,
            "data_dir": tmp_path,
            "database_url": None,
            # One timeout serves the vault and the real fraud process: long enough for
            # fraud's first answer on a loaded machine, short of the fake vault's silence.
            "upstream_timeout_seconds": UPSTREAM_TIMEOUT,
            "key_hash_secret": "slow-vault-secret",
            "vault_credential": "x",
            "fraud_credential": sqlite_stacks.settings["test"].fraud_credential,
        }
    )
    with serving(vault) as vault_url:
        settings = settings.model_copy(update={"vault_url": vault_url})
        api.marketplaces.admin.register_marketplace(
            settings, "mkt_slowvault0001", "slow", ["sk_test_" + "s" * 32]
        )
        with serving(api.app.create_app(settings)) as url:
            yield url, charged


def test_an_unanswered_upstream_is_not_stored_the_retry_resumes_the_charge(
    slow_vault_api,
) -> None:
    url, charged = slow_vault_api
    headers = {"authorization": "Bearer sk_test_" + "s" * 32, "idempotency-key": key()}
    body = {"card": "card_" + "c" * 24, "amount": 100, "currency": "usd"}
    first = httpx.post(url + "/v1/charges", json=body, headers=headers, timeout=10)
    assert first.status_code == 502
    assert first.json()["error"]["code"] == "charge_pending"
    assert first.headers["stripe-should-retry"] == "true"
    again = httpx.post(url + "/v1/charges", json=body, headers=headers, timeout=10)
    # Not a replay: the retry ran again, and sent the vault the same charge id.
    assert again.status_code == 502 and "idempotent-replayed" not in again.headers
    assert again.json() == first.json()
    assert len(charged) == 2 and charged[0] == charged[1]


def test_a_charge_the_network_left_unanswered_stays_pending_and_retryable(
    slow_vault_api,
) -> None:
    url, charged = slow_vault_api
    auth = {"authorization": "Bearer sk_test_" + "s" * 32}
    body = {"card": "card_" + "c" * 24, "amount": 503, "currency": "usd"}
    k = key()
    for _ in range(2):
        answer = httpx.post(
            url + "/v1/charges", json=body, headers={**auth, "idempotency-key": k}, timeout=10
        )
        assert answer.status_code == 502 and "idempotent-replayed" not in answer.headers
        assert answer.json()["error"]["code"] == "charge_pending"
        assert answer.headers["stripe-should-retry"] == "true"
    assert len(charged) == 2 and charged[0] == charged[1]
    # Never recorded failed: pending, for the vault's completer and the API's completer.
    shown = httpx.get(f"{url}/v1/charges/{charged[0]}", headers=auth, timeout=10)
    assert shown.status_code == 200 and shown.json()["status"] == "pending"
