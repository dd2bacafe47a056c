"""The merchant's side of a chaos run: a mixed live workload, every request retried with
its Idempotency-Key while the answer is lost (a transport error, a 5xx, a 409 in flight).

Each intent is one of: a captured charge; an authorisation, then its capture; a captured
charge, then two partial refunds; an authorisation, then released, by its cancel or by a
refund of all of it. What each intent does and for how much is drawn from
the seed before anything is sent, so a replayed seed asks for the same things. Every
charge carries metadata `chaos_run` and `chaos_intent`, by which the checker finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from strongroom.testcards import generated_card

SHAPES = (
    "charge",
    "charge",
    "charge",
    "auth_capture",
    "charge_refund",
    "auth_cancel",
    "auth_release",
)
_AUTHORISED = ("auth_capture", "auth_cancel", "auth_release")  # made with capture false
_RETRIED_CONFLICTS = {"idempotency_key_in_flight", "charge_in_progress", "refund_in_progress"}


@dataclass(frozen=True)
class Intent:
    key: str
    shape: str
    amount: int


@dataclass
class Tally:
    """What the merchant saw: requests sent, answers lost (retried), and intents whose
    every answer was lost (indeterminate: the checker must find their charge final)."""

    requests: int = 0
    lost_answers: int = 0
    indeterminate: list[str] = field(default_factory=list)


def intents(run: str, seed: int, count: int) -> list[Intent]:
    """`count` intents of the seed; the first len(set(SHAPES)) of them hold every shape."""
    # Replayable by design: what the workload asks for comes from the seed.
    rng = random.Random(seed)  # noqa: S311
    distinct = sorted(set(SHAPES))
    shapes = rng.sample(distinct, len(distinct)) + [rng.choice(SHAPES) for _ in range(count)]
    return [Intent(f"{run}-{i}", shapes[i], rng.randint(100, 5000)) for i in range(count)]


class Merchant:
    """A merchant server with a live secret key, talking to the edge."""

    def __init__(self, edge: str, pk: str, sk: str, run: str, patience: float) -> None:
        self._edge, self._pk, self._sk, self._run = edge, pk, sk, run
        self._patience = patience
        self.tally = Tally()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self._edge, timeout=30, headers={"host": "api.localhost"})

    async def tokenise(self, count: int) -> list[str]:
        """`count` live tokens of generated cards (before any fault is armed)."""
        year = dt.date.today().year + 2
        tokens = []
        async with self._client() as client:
            for _ in range(count):
                card = {"number": generated_card(), "exp_month": 12, "exp_year": year, "cvc": "123"}
                auth = {"authorization": f"Bearer {self._pk}"}
                response = await client.post("/v1/cards", json=card, headers=auth)
                response.raise_for_status()
                tokens.append(response.json()["id"])
        return tokens

    async def settle_in(
        self, token: str, rounds: int = 8, width: int = 8, patience: float = 15.0
    ) -> None:
        """Read a card through the API a few times, `width` reads at once, so that
        connections pooled to a process since restarted (the API's to a vault, the
        router's to an API) are found dead here rather than by the workload. At once,
        because a pool hands out its most recently used connection first: reads one after
        another would all take the one live connection and never meet the dead ones behind
        it (a POST that meets one is not sent again, so its answer is lost). Then, until
        a round is answered whole (at most `patience` seconds): the router may still hold the
        restarted stack for down (503) until its next probe, which a POST would meet too."""
        auth = {"authorization": f"Bearer {self._sk}"}

        async def read(client: httpx.AsyncClient) -> bool:
            # What this is for: a connection found dead, here.
            with contextlib.suppress(httpx.HTTPError):
                answer = await client.get(f"/v1/cards/{token}", headers=auth)
                return answer.status_code < 500
            return False

        async with self._client() as client:
            for _ in range(rounds):
                await asyncio.gather(*(read(client) for _ in range(width)))
            deadline = time.monotonic() + patience
            while not all(await asyncio.gather(*(read(client) for _ in range(width)))):
                if time.monotonic() > deadline:
                    return  # the workload meets what is still down, and counts it lost
                await asyncio.sleep(0.1)

    async def run(self, todo: list[Intent], tokens: list[str], concurrency: int = 4) -> None:
        gate = asyncio.Semaphore(concurrency)
        async with self._client() as client:

            async def one(intent: Intent, token: str) -> None:
                async with gate:
                    await self._intent(client, intent, token)

            await asyncio.gather(*(one(i, t) for i, t in zip(todo, tokens, strict=True)))

    async def _intent(self, client: httpx.AsyncClient, intent: Intent, token: str) -> None:
        body = {
            "card": token,
            "amount": intent.amount,
            "currency": "usd",
            "capture": intent.shape not in _AUTHORISED,
            "metadata": {"chaos_run": self._run, "chaos_intent": intent.key},
        }
        charge = await self._post(client, "/v1/charges", body, f"{intent.key}-charge")
        if charge is None:
            self.tally.indeterminate.append(intent.key)
            return
        charge_id, status = charge.get("id"), charge.get("status")
        # Stripe's shape: an authorisation is `succeeded`, not yet `captured`.
        authorised = status == "succeeded" and not charge.get("captured")
        if intent.shape == "auth_capture" and authorised:
            await self._post(client, f"/v1/charges/{charge_id}/capture", {}, f"{intent.key}-cap")
        if intent.shape == "auth_cancel" and authorised:
            await self._post(client, f"/v1/charges/{charge_id}/cancel", {}, f"{intent.key}-can")
        if intent.shape == "auth_release" and authorised:  # a refund of all of it: a void
            refund = {"charge": charge_id}
            await self._post(client, "/v1/refunds", refund, f"{intent.key}-rel")
        if intent.shape == "charge_refund" and status == "succeeded":
            for n, part in enumerate((intent.amount // 3, intent.amount // 4)):
                refund = {"charge": charge_id, "amount": part}
                await self._post(client, "/v1/refunds", refund, f"{intent.key}-re{n}")

    async def _post(
        self, client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str
    ) -> dict[str, Any] | None:
        """The answer's object (or None while every answer is lost), retrying with the
        same Idempotency-Key, backing off, for at most the merchant's patience."""
        headers = {"authorization": f"Bearer {self._sk}", "idempotency-key": key}
        deadline = time.monotonic() + self._patience
        pause = 0.2
        while True:
            self.tally.requests += 1
            try:
                response = await client.post(path, json=body, headers=headers)
                answer: dict[str, Any] = response.json()
                if not _lost(response.status_code, answer):
                    return answer
            except (httpx.HTTPError, ValueError):
                pass  # a transport error or an answer cut short: lost
            self.tally.lost_answers += 1
            if time.monotonic() + pause > deadline:
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)


def _lost(status: int, answer: dict[str, Any]) -> bool:
    """Whether an answer leaves the merchant not knowing what happened."""
    if status >= 500:
        return True
    return status == 409 and answer.get("error", {}).get("code") in _RETRIED_CONFLICTS
