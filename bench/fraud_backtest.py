"""A backtest on a real stack's history: starts Strongroom (`strongroom up`'s processes),
sends --charges live charges through the edge, refunds some as `fraudulent`, stops the
stack, and runs `strongroom fraud backtest` over its data dir with a draft ruleset.

The traffic: ordinary shoppers (a card each, a few charges, amounts of a few tens of
dollars) and a ring of fraudsters who share an IP /24 and an email domain, charge each
card in quick bursts and spend more. The live ruleset only reviews large amounts; the
draft adds velocity, IP and email rules. A fraudster's charge that went through is later
refunded with reason `fraudulent` (about --fraud-share of the traffic), so the table shows
each ruleset's precision and recall against what really was fraud.

Usage: .venv/bin/python -m bench.fraud_backtest [--charges 1200] [--data-dir DIR]
                                                [--fraud-counters-url redis://…]
(with --data-dir the stack's files stay for a look, or a second backtest, afterwards)
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from strongroom import testcards
from strongroom.devkeys import load_or_create
from strongroom.marketplaces import MarketplaceKeys, dev_marketplace_keys, register_dev_marketplace
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports

LIVE_RULES = ["review if :amount: >= 150000"]
DRAFT_RULES = """\
# the live rule, kept
review if :amount: >= 150000
# what the fraud ring gives away
block if :email_domain: = 'fastmail-offers.test'
block if :ip_prefix: = '198.51.100.0/24' and :amount: >= 20000
review if :card_velocity_1h: > 8
score +40 if :ip_country: != :card_country:
score +30 if :distinct_cards_per_ip_7d: > 3
"""


@dataclass
class Sent:
    charge_id: str
    fraud: bool
    outcome: str  # HTTP status and the charge's status or decline code
    captured: bool


def card_body(number: str) -> dict[str, Any]:
    return {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}


def edge_client(edge: str, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=edge,
        headers={"host": "api.localhost", "authorization": f"Bearer {key}"},
        timeout=60.0,
    )


@contextmanager
def running_stack(data_dir: Path, counters: str) -> Iterator[tuple[str, MarketplaceKeys]]:
    """The whole stack on free ports; left, it stops (the decisions are committed then)."""
    opts = Options(
        data_dir=data_dir,
        ports=Ports(*free_ports(7)),
        fraud_counters_url=counters,
        api_test_priority="normal",
        router_test_rate_per_key=0,
        router_test_rate=0,
    )
    secrets = load_or_create(data_dir)
    keys = dev_marketplace_keys(data_dir)
    processes = services(opts, secrets)
    for process in processes:
        if process.name == "vault":
            # One client makes every card here (not a guesser), and a minute of this
            # traffic is more money than the vault's default live caps let through.
            for name in ("TOKENISE_PER_CLIENT_MINUTE", "TOKENISE_PER_KEY_MINUTE"):
                process.env[f"VAULT_{name}"] = "100000"
            for name in ("MARKETPLACE", "GLOBAL"):
                process.env[f"VAULT_{name}_MINUTE_CAP"] = str(10**12)
                process.env[f"VAULT_{name}_TOTAL_CAP"] = str(10**13)
    with Supervisor(processes, opts.host, data_dir / "logs") as supervisor:
        supervisor.start()
        register_dev_marketplace(opts, secrets, keys)
        yield f"http://127.0.0.1:{opts.ports.edge}", keys


def traffic(n: int, fraud_share: float, rng: random.Random) -> list[dict[str, Any]]:
    """Charge plans: who pays, with which card, from where; fraud marked."""
    plans: list[dict[str, Any]] = []
    shoppers = max(1, n // 4)
    ring = max(1, int(n * fraud_share / 3))
    for _ in range(n):
        if rng.random() < fraud_share:
            card = rng.randrange(ring)
            plans.append(
                {
                    "fraud": True,
                    "card": ("ring", card),
                    "amount": rng.choice([19_900, 49_900, 89_900, 129_900]),
                    "metadata": {
                        "ip": f"198.51.100.{rng.randrange(1, 250)}",
                        "ip_country": rng.choice(["RO", "VN", "US"]),
                        "email": f"buyer{card}@fastmail-offers.test",
                    },
                }
            )
        else:
            who = rng.randrange(shoppers)
            plans.append(
                {
                    "fraud": False,
                    "card": ("shopper", who),
                    "amount": rng.choice([1_500, 4_200, 8_900, 24_900, 159_000]),
                    "metadata": {
                        "ip": f"10.{who % 250}.{who // 250}.7",
                        "ip_country": "US",
                        "email": f"shopper{who}@example.test",
                    },
                }
            )
    return plans


def run(edge: str, keys: MarketplaceKeys, plans: list[dict[str, Any]], workers: int) -> list[Sent]:
    with edge_client(edge, keys.sk_live) as merchant:
        for predicate in LIVE_RULES:
            made = merchant.post("/v1/fraud/rules", json={"predicate": predicate})
            assert made.status_code == 201, made.text
    tokens: dict[tuple[str, int], str] = {}
    with edge_client(edge, keys.pk_live) as browser:
        for card in sorted({p["card"] for p in plans}):
            # Generated Luhn-valid numbers (prefix 4: the BIN table calls most of them US).
            answer = browser.post("/v1/cards", json=card_body(testcards.generated_card("4")))
            assert answer.status_code == 201, answer.text
            tokens[card] = answer.json()["id"]

    def charge(plan: dict[str, Any]) -> Sent:
        with edge_client(edge, keys.sk_live) as merchant:
            body = {
                "card": tokens[plan["card"]],
                "amount": plan["amount"],
                "currency": "usd",
                "metadata": plan["metadata"],
            }
            answer = merchant.post("/v1/charges", json=body)
            data = answer.json()
            if "error" in data:
                error = data["error"]
                outcome = f"{answer.status_code} {error.get('decline_code') or error['code']}"
                return Sent(error["charge"], plan["fraud"], outcome, False)
            return Sent(
                data["id"],
                plan["fraud"],
                f"{answer.status_code} {data['status']}",
                bool(data.get("captured")),
            )

    with ThreadPoolExecutor(workers) as pool:
        sent = list(pool.map(charge, plans))
    # The ring's charges that went through come back later as chargebacks: refunded as fraud.
    with edge_client(edge, keys.sk_live) as merchant:
        for s in sent:
            if s.fraud and s.captured:
                refund = merchant.post(
                    "/v1/refunds", json={"charge": s.charge_id, "reason": "fraudulent"}
                )
                assert refund.status_code in (200, 201), refund.text
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=1200)
    parser.add_argument("--fraud-share", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--data-dir", type=Path, help="keep the stack's files here")
    parser.add_argument("--fraud-counters-url", default="memory")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "stack"
        data_dir.mkdir(parents=True, exist_ok=True)
        plans = traffic(args.charges, args.fraud_share, random.Random(args.seed))  # noqa: S311 (reproducible traffic)
        with running_stack(data_dir, args.fraud_counters_url) as (edge, keys):
            sent = run(edge, keys, plans, args.workers)
        outcomes = Counter(s.outcome for s in sent)
        refunded = sum(s.fraud and s.captured for s in sent)
        print(
            f"sent {len(sent)} live charges through the edge ({dict(sorted(outcomes.items()))}); "
            f"{refunded} of the ring's went through and were refunded as fraudulent"
        )
        rules = Path(tmp) / "draft.rules"
        rules.write_text(DRAFT_RULES)
        command = [
            *(sys.executable, "-m", "strongroom", "fraud", "backtest"),
            *("--marketplace", keys.id, "--rules", str(rules), "--since", "1d"),
            *("--data-dir", str(data_dir)),
        ]
        print(
            "$ strongroom fraud backtest --marketplace", keys.id, "--rules draft.rules --since 1d"
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        print(result.stdout, end="")
        if result.returncode != 0:
            raise SystemExit(result.stderr)


if __name__ == "__main__":
    main()
