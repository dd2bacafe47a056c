"""Fraud rules end to end: through the edge, on real processes, and failing closed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strongroom import testcards
from strongroom.devkeys import load_or_create
from strongroom.marketplaces import (
    MarketplaceKeys,
    create_marketplace,
    dev_marketplace_keys,
    register_dev_marketplace,
)
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports
from tests.e2e.conftest import Stack
from tests.helpers.servers import serving

pytestmark = pytest.mark.e2e


def card_body(number: str) -> dict[str, object]:
    return {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}


def client(edge: str, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=edge,
        headers={"host": "api.localhost", "authorization": f"Bearer {key}"},
        timeout=30.0,
    )


def charge_id_of(response: httpx.Response) -> str:
    """The charge a create answered with, whether as the charge or as a card error."""
    body: dict[str, Any] = response.json()
    if "error" in body:
        return str(body["error"]["charge"])
    return str(body["id"])


def test_a_velocity_rule_blocks_the_fifth_charge_and_replays_never_count(stack: Stack) -> None:
    shop = create_marketplace(stack.opts, stack.secrets, "fraud velocity")
    with (
        client(stack.edge_url, shop.pk_test) as browser,
        client(stack.edge_url, shop.sk_test) as server,
    ):
        rule = server.post("/v1/fraud/rules", json={"predicate": "block if :card_velocity_1h: > 3"})
        assert rule.status_code == 201, rule.text
        card = browser.post("/v1/cards", json=card_body(testcards.SUCCEEDS)).json()["id"]

        def charge(key: str) -> httpx.Response:
            body = {"card": card, "amount": 1500, "currency": "usd"}
            return server.post("/v1/charges", json=body, headers={"idempotency-key": key})

        for n in range(1, 4):
            assert charge(f"order-{n}").json()["status"] == "succeeded"
        for _ in range(3):  # a client retrying a charge whose answer it lost
            replay = charge("order-3")
            assert replay.headers.get("idempotent-replayed") == "true"
        assert charge("order-4").json()["status"] == "succeeded"  # 3 earlier charges: not > 3
        fifth = charge("order-5")
        blocked = server.get(f"/v1/charges/{charge_id_of(fifth)}").json()
        assert (fifth.status_code, fifth.json()["error"]["decline_code"]) == (402, "fraudulent")
        assert (blocked["status"], blocked["outcome"]["type"]) == ("failed", "blocked")
        assert blocked["fraud"]["rule"]["id"] == rule.json()["id"]
        assert blocked["fraud"]["rule"]["predicate"] == "block if :card_velocity_1h: > 3"
        assert rule.json()["id"] in blocked["outcome"]["rule"]  # Stripe's place names it too
        assert charge("order-5").json() == fifth.json()  # the replay, not a sixth charge
        history = server.get("/v1/fraud/rule_history").json()["data"]
        assert [(c["change"], c["actor"]) for c in history] == [("created", "secret_key")]


def test_a_rule_that_does_not_type_check_is_400_naming_where(stack: Stack) -> None:
    shop = create_marketplace(stack.opts, stack.secrets, "fraud rules")
    with client(stack.edge_url, shop.sk_test) as server:
        response = server.post("/v1/fraud/rules", json={"predicate": "review if :bin_country: > 3"})
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["param"]) == ("rule_invalid", "predicate")
        assert "(at column 11)" in error["message"]
        lists = server.get("/v1/fraud/value_lists").json()["data"]
        assert {"blocked_cards", "trusted_cards", "blocked_emails", "blocked_ips"} <= {
            row["alias"] for row in lists
        }
        # Test-mode rules are not live-mode rules.
        server.post("/v1/fraud/rules", json={"predicate": "review if :amount: > 100"})
    with client(stack.edge_url, shop.sk_live) as live:
        assert live.get("/v1/fraud/rules").json()["data"] == []


def test_a_review_rule_holds_live_charges_approve_captures_reject_voids_with_webhooks(
    stack: Stack,
) -> None:
    events: list[dict[str, Any]] = []

    async def hook(request: Request) -> Response:
        events.append(json.loads(await request.body()))
        return Response(status_code=200)

    shop = create_marketplace(stack.opts, stack.secrets, "fraud reviews")
    with (
        # Live endpoints are https://: a receiver with a certificate the stack trusts.
        serving(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]), tls=stack.webhook_tls
        ) as url,
        client(stack.edge_url, shop.pk_live) as browser,
        client(stack.edge_url, shop.sk_live) as server,
    ):
        hook_made = server.post(
            "/v1/webhook_endpoints",
            json={"url": url + "/hook", "enabled_events": ["review.opened", "review.closed"]},
        )
        assert hook_made.status_code == 201, hook_made.text
        rule = server.post("/v1/fraud/rules", json={"predicate": "review if :amount: >= 100000"})
        assert rule.status_code == 201, rule.text
        held = []
        for _ in range(2):
            token = browser.post("/v1/cards", json=card_body(testcards.generated_card())).json()
            answer = server.post(
                "/v1/charges", json={"card": token["id"], "amount": 120_000, "currency": "usd"}
            )
            charge = server.get(f"/v1/charges/{charge_id_of(answer)}").json()
            assert (charge["status"], charge["captured"]) == ("pending", False)
            held.append(charge)
        queue = server.get("/v1/reviews").json()["data"]
        assert [r["charge"] for r in queue] == [c["id"] for c in held]  # oldest first
        assert server.post(f"/v1/reviews/{held[0]['review']}/approve").status_code == 200
        assert server.post(f"/v1/reviews/{held[1]['review']}/reject").status_code == 200
        assert server.get(f"/v1/charges/{held[0]['id']}").json()["status"] == "succeeded"
        voided = server.get(f"/v1/charges/{held[1]['id']}").json()
        assert (voided["status"], voided["captured"], voided["refunded"]) == (
            "succeeded",
            False,
            True,
        )
        deadline = time.monotonic() + 20
        while len(events) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    kinds = {
        c["id"]: [m["kind"] for m in stack.network_messages() if m["reference"] == c["id"]]
        for c in held
    }
    assert kinds == {
        held[0]["id"]: ["authorization", "capture"],
        held[1]["id"]: ["authorization", "void"],
    }
    seen = sorted(
        (e["type"], e["data"]["object"]["charge"], e["data"]["object"]["closed_reason"])
        for e in events
    )
    assert seen == sorted(
        [
            ("review.opened", held[0]["id"], None),
            ("review.opened", held[1]["id"], None),
            ("review.closed", held[0]["id"], "approved"),
            ("review.closed", held[1]["id"], "rejected"),
        ]
    )


@dataclass
class Fragile:
    """A stack whose fraud service and Redis the test may stop."""

    edge: str
    keys: MarketplaceKeys
    network: str
    network_credential: str
    fraud: Supervisor
    redis: subprocess.Popen[bytes]

    def messages(self) -> list[dict[str, object]]:
        response = httpx.get(
            f"{self.network}/v1/messages",
            headers={"authorization": f"Bearer {self.network_credential}"},
        )
        data: list[dict[str, object]] = response.json()["data"]
        return data


@pytest.fixture(scope="module")
def fragile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fragile]:
    data_dir = tmp_path_factory.mktemp("fragile")
    redis_port, *ports = free_ports(8)
    server = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=redis_port).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        opts = Options(
            data_dir=data_dir,
            ports=Ports(*ports),
            fraud_counters_url=f"redis://127.0.0.1:{redis_port}/0",
            api_test_priority="normal",
            router_test_rate_per_key=0,
            router_test_rate=0,
        )
        secrets = load_or_create(data_dir)
        keys = dev_marketplace_keys(data_dir)
        everything = services(opts, secrets)
        fraud = [s for s in everything if s.name == "fraud"]
        rest = [s for s in everything if s.name != "fraud"]
        with (
            Supervisor(fraud, opts.host, data_dir / "logs") as fraud_process,
            Supervisor(rest, opts.host, data_dir / "logs") as others,
        ):
            fraud_process.start()
            others.start()
            register_dev_marketplace(opts, secrets, keys)
            yield Fragile(
                f"http://127.0.0.1:{opts.ports.edge}",
                keys,
                f"http://127.0.0.1:{opts.ports.network}",
                secrets.network_credential,
                fraud_process,
                server,
            )
    finally:
        server.terminate()
        server.wait(10)


def live_charge(stack: Fragile, number: str) -> dict[str, Any]:
    with (
        client(stack.edge, stack.keys.pk_live) as browser,
        client(stack.edge, stack.keys.sk_live) as server,
    ):
        token = browser.post("/v1/cards", json=card_body(number)).json()["id"]
        response = server.post(
            "/v1/charges", json={"card": token, "amount": 2000, "currency": "eur"}
        )
        body: dict[str, Any] = server.get(f"/v1/charges/{charge_id_of(response)}").json()
        return body


def test_redis_then_fraud_stopped_refuse_every_charge_and_the_vault_runs_none(
    fragile: Fragile,
) -> None:
    working = live_charge(fragile, testcards.generated_card())
    assert working["status"] == "succeeded"
    executed = len(fragile.messages())

    fragile.redis.terminate()
    fragile.redis.wait(10)
    for _ in range(3):
        refused = live_charge(fragile, testcards.generated_card())
        assert (refused["status"], refused["failure_code"]) == ("failed", "fraud_unavailable")
    assert len(fragile.messages()) == executed

    fragile.fraud.stop()
    for _ in range(3):
        refused = live_charge(fragile, testcards.generated_card())
        assert (refused["status"], refused["failure_code"]) == ("failed", "fraud_unavailable")
    assert len(fragile.messages()) == executed


def test_the_backtest_bench_replays_a_real_stacks_charges_with_precision_and_recall(
    tmp_path: Path,
) -> None:
    """The short run of bench/fraud_backtest.py (its full run sends 1,200 charges)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.fraud_backtest",
            "--charges",
            "60",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    lines = out.splitlines()
    assert lines[0].startswith("sent 60 live charges through the edge")
    assert lines[2].startswith("60 charges, ") and "refunded as fraudulent" in lines[2]
    live = next(line.split() for line in lines if line.startswith("live "))
    draft = next(line.split() for line in lines if line.startswith("draft "))
    # allow + review + block counts cover every charge, for both rulesets
    assert sum(int(live[i]) for i in (1, 3, 5)) == sum(int(draft[i]) for i in (1, 3, 5)) == 60
    assert draft[-2] == "100.0%"  # the draft's recall: it flags every charge of the ring
    assert (tmp_path / "fraud" / "fraud.db").exists()
