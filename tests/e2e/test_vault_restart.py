"""The API and a vault that restarts or is away: no charge lost, none doubled, and the
merchant's retry with its Idempotency-Key gets the real outcome."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from strongroom import testcards
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: these tests stop its vault."""
    yield from start_stack(tmp_path_factory.mktemp("vault-restart"))


def live_card(stack: Stack) -> str:
    with stack.client(stack.keys.pk_live) as browser:
        card = {"number": testcards.generated_card(), "exp_month": 12, "exp_year": 2031}
        response = browser.post("/v1/cards", json={**card, "cvc": "123"})
    assert response.status_code == 201, response.text
    token: str = response.json()["id"]
    return token


def charge(stack: Stack, card: str, key: str) -> httpx.Response:
    with stack.client(stack.keys.sk_live) as merchant:
        return merchant.post(
            "/v1/charges",
            json={"card": card, "amount": 1500, "currency": "usd"},
            headers={"idempotency-key": key},
        )


def authorizations_of(stack: Stack, charge_id: str) -> list[dict[str, object]]:
    """The card network's record of the authorisations it executed for this charge."""
    return [
        m
        for m in stack.network_messages()
        if m["kind"] == "authorization" and m["reference"] == charge_id and not m["replayed"]
    ]


def stop_vault(stack: Stack) -> None:
    """Stop the vault process until its port refuses connections."""
    pid = stack.supervisor.pids()["vault"]
    os.killpg(os.getpgid(pid), signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", stack.opts.ports.vault), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.05)
    raise AssertionError("the vault still accepts connections")


def test_a_charge_after_a_vault_restart_succeeds_at_the_first_try(own_stack: Stack) -> None:
    card = live_card(own_stack)
    first = charge(own_stack, card, secrets.token_hex(8))
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "succeeded"
    own_stack.supervisor.restart("vault")  # the API's pooled connections are dead now
    second = charge(own_stack, live_card(own_stack), secrets.token_hex(8))
    assert second.status_code == 201, second.text
    assert second.json()["status"] == "succeeded"
    assert len(authorizations_of(own_stack, second.json()["id"])) == 1


def test_a_charge_while_the_vault_is_away_is_retryable_and_made_once(own_stack: Stack) -> None:
    card = live_card(own_stack)
    key = secrets.token_hex(8)
    stop_vault(own_stack)
    try:
        away = charge(own_stack, card, key)
    finally:
        own_stack.supervisor.restart("vault")
    assert away.status_code == 502, away.text
    assert away.json()["error"]["type"] == "api_error"
    assert away.headers["stripe-should-retry"] == "true"
    retried = charge(own_stack, card, key)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["status"] == "succeeded"
    replayed = charge(own_stack, card, key)  # now the outcome is kept
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == retried.json()
    assert len(authorizations_of(own_stack, retried.json()["id"])) == 1
