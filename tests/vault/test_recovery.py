"""A vault killed between the card network's answer and its own record finishes the work
when it runs again: one final state, visible, and the one the network's record shows.

Real processes: the vault runs as `python -m vault` and SIGKILLs itself at the armed
recovery point (STRONGROOM_CRASH_AT); the card network is the simulator, whose record
is the truth the vault's state is checked against.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

import card_network.app
import card_network.config
from tests.helpers.servers import free_port, serving, wait_healthy
from tests.vault.conftest import (
    KEYS,
    LEAKS,
    LIVE_CREDENTIAL,
    MARKETPLACE,
    MARKETPLACE_KEYS,
    NETWORK_CREDENTIAL,
    Harness,
)
from vault.app import create_app
from vault.audit import read_anchors
from vault.audit_chain import verify_chain
from vault.config import Settings
from vault.store.db import make_engine


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The card-network simulator over HTTP, and the path of its record."""
    settings = card_network.config.Settings(
        credential=SecretStr(NETWORK_CREDENTIAL), data_dir=tmp_path / "network"
    )
    with serving(card_network.app.create_app(settings)) as url:
        yield url, settings.record_path


def vault_env(settings: Settings, port: int, crash_at: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.pop("STRONGROOM_CRASH_AT", None)
    for name, value in settings.model_dump().items():
        if value is not None:
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            env[f"VAULT_{name.upper()}"] = str(plain)
    env["VAULT_PORT"] = str(port)
    if crash_at is not None:
        env["STRONGROOM_CRASH_AT"] = crash_at
    return env


class VaultProcess:
    """`python -m vault` on the test's settings, optionally armed to crash."""

    def __init__(self, settings: Settings, log: Path, crash_at: str | None = None) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vault"],
                env=vault_env(settings, port, crash_at),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_healthy(self.url, timeout=60)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {LIVE_CREDENTIAL}"}
        return httpx.post(self.url + path, json=body, headers=headers, timeout=30)

    def state(self, charge_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/internal/v1/charges/{charge_id}",
            params={"marketplace": MARKETPLACE},
            headers={"Authorization": f"Bearer {LIVE_CREDENTIAL}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(30)


def eventually(probe: Callable[[], Any], limit: float = 60) -> Any:
    """The first truthy value of `probe`, polled (the completer runs in the background)."""
    deadline = time.monotonic() + limit
    while not (value := probe()):
        assert time.monotonic() < deadline, "never finished"
        time.sleep(0.1)
    return value


def executed(record: Path, kind: str, reference: str) -> list[dict[str, Any]]:
    """The network's messages of `kind` for `reference` that moved money (not replays)."""
    messages = [json.loads(line) for line in record.read_text().splitlines()]
    return [
        m
        for m in messages
        if m["kind"] == kind and m["reference"] == reference and not m["replayed"]
    ]


@pytest.fixture
def prepared(
    settings_factory: Callable[..., Settings],
    sign: Callable[..., dict[str, str]],
    simulator: tuple[str, Path],
    tmp_path: Path,
    database_url: str,
) -> tuple[Settings, dict[str, Any]]:
    """A vault database (SQLite, then PostgreSQL: they record an outcome by different
    statements) with a live card, and a signed charge request for it."""
    url, _ = simulator
    settings = settings_factory(
        database_url=database_url,
        network_url=url,
        claim_lease=2,
        completer_interval=0.2,
    )
    LEAKS.roots.add(tmp_path)
    with TestClient(create_app(settings)) as client:
        harness = Harness(client, settings, sign)
        harness.register(MARKETPLACE, [KEYS[k] for k in MARKETPLACE_KEYS])
        token = harness.token(harness.number("4"), key="pk_live")
        body = harness.charge_body(token, "ch_crash", live=True)
    return settings, body


def crashed(
    settings: Settings, point: str, tmp_path: Path, steps: list[tuple[str, dict[str, Any]]]
) -> VaultProcess:
    """Run `steps` on a vault armed at `point`, which dies at the last one; then a vault
    started again on the same database (not armed)."""
    armed = VaultProcess(settings, tmp_path / "vault.log", f"vault:{point}:after")
    *before, (path, body) = steps
    for step_path, step_body in before:
        assert armed.post(step_path, step_body).status_code == 200
    with pytest.raises(httpx.TransportError):  # killed before it could answer
        armed.post(path, body)
    assert armed.proc.wait(30) == -9  # SIGKILL
    return VaultProcess(settings, tmp_path / "vault.log")


def test_a_charge_the_network_authorised_before_the_vault_died_is_recorded_once(
    prepared: tuple[Settings, dict[str, Any]], simulator: tuple[str, Path], tmp_path: Path
) -> None:
    settings, body = prepared
    vault = crashed(settings, "network_answered", tmp_path, [("/internal/v1/charges", body)])
    try:
        state = eventually(lambda: (s := vault.state("ch_crash"))["status"] != "processing" and s)
        [authorised] = executed(simulator[1], "authorization", "ch_crash")  # once
        assert authorised["approved"] is True
        assert state["status"] == "succeeded"
        assert state["authorization_code"] == authorised["authorization_code"]
        replay = vault.post("/internal/v1/charges", body).json()  # the merchant's retry
        assert (replay["status"], replay["authorization_code"]) == state_of(state)
    finally:
        vault.stop()


def test_a_vault_killed_between_the_attempt_entry_and_its_claim_charges_once_on_retry(
    prepared: tuple[Settings, dict[str, Any]], simulator: tuple[str, Path], tmp_path: Path
) -> None:
    """The claim is the attempt entry's own work, committed after the entry's fsync: killed
    in between, the log keeps the attempt, nothing is claimed, and the retry charges once."""
    settings, body = prepared
    vault = crashed(settings, "audit_requested", tmp_path, [("/internal/v1/charges", body)])
    try:
        assert not simulator[1].exists()  # the network was never asked
        assert charge_entries(settings) == ["attempt"]
        assert vault.post("/internal/v1/charges", body).json()["status"] == "succeeded"
        assert len(executed(simulator[1], "authorization", "ch_crash")) == 1
        assert eventually(lambda: charge_entries(settings)[2:]) == ["succeeded"]
        engine = make_engine(settings.db_url)
        verify_chain(settings.audit_path, read_anchors(engine))
        engine.dispose()
    finally:
        vault.stop()


def charge_entries(settings: Settings) -> list[str]:
    entries = [json.loads(line) for line in settings.audit_path.read_text().splitlines()]
    return [e["outcome"] for e in entries if e["action"] == "charge"]


def test_a_sale_the_network_made_before_the_vault_died_is_recorded_captured_once(
    prepared: tuple[Settings, dict[str, Any]], simulator: tuple[str, Path], tmp_path: Path
) -> None:
    settings, body = prepared
    sale = {**body, "capture": True}
    vault = crashed(settings, "network_answered", tmp_path, [("/internal/v1/charges", sale)])
    try:
        state = eventually(lambda: (s := vault.state("ch_crash"))["status"] != "processing" and s)
        [authorised] = executed(simulator[1], "authorization", "ch_crash")  # once
        [captured] = executed(simulator[1], "capture", "ch_crash")  # once, by the sale
        assert (authorised["approved"], authorised["capture"]) == (True, True)
        assert (captured["approved"], captured["amount"]) == (True, body["amount"])
        assert state["status"] == "succeeded"
        assert state["settlement"] == {
            "action": "capture",
            "status": "succeeded",
            "amount": body["amount"],
        }
        replay = vault.post("/internal/v1/charges", sale).json()  # the API's retry
        assert (replay["status"], replay["amount_captured"]) == ("succeeded", body["amount"])
        capture = {"marketplace": MARKETPLACE, "amount": body["amount"]}
        assert vault.post("/internal/v1/charges/ch_crash/capture", capture).json()["status"] == (
            "succeeded"
        )
        assert len(executed(simulator[1], "capture", "ch_crash")) == 1  # nothing sent again
    finally:
        vault.stop()


def state_of(state: dict[str, Any]) -> tuple[str, str]:
    return state["status"], state["authorization_code"]


def test_a_capture_the_network_made_before_the_vault_died_is_recorded_once(
    prepared: tuple[Settings, dict[str, Any]], simulator: tuple[str, Path], tmp_path: Path
) -> None:
    settings, body = prepared
    capture = ("/internal/v1/charges/ch_crash/capture", {"marketplace": MARKETPLACE, "amount": 700})
    vault = crashed(
        settings, "settlement_answered", tmp_path, [("/internal/v1/charges", body), capture]
    )
    try:
        settled = eventually(
            lambda: (s := vault.state("ch_crash")["settlement"])["status"] != "processing" and s
        )
        assert settled == {"action": "capture", "status": "succeeded", "amount": 700}
        [captured] = executed(simulator[1], "capture", "ch_crash")
        assert (captured["approved"], captured["amount"]) == (True, 700)
        assert vault.post(*capture).json()["status"] == "succeeded"  # the API's retry
    finally:
        vault.stop()


def test_a_refund_the_network_made_before_the_vault_died_is_recorded_once(
    prepared: tuple[Settings, dict[str, Any]], simulator: tuple[str, Path], tmp_path: Path
) -> None:
    settings, body = prepared
    capture = ("/internal/v1/charges/ch_crash/capture", {"marketplace": MARKETPLACE, "amount": 700})
    refund = (
        "/internal/v1/refunds",
        {
            "refund_id": "re_crash",
            "charge_id": "ch_crash",
            "marketplace": MARKETPLACE,
            "amount": 300,
        },
    )
    vault = crashed(
        settings, "refund_answered", tmp_path, [("/internal/v1/charges", body), capture, refund]
    )
    try:
        state = eventually(
            lambda: (s := vault.state("ch_crash"))["refunds"][0]["status"] != "processing" and s
        )
        assert state["refunds"] == [{"refund_id": "re_crash", "status": "succeeded", "amount": 300}]
        assert state["amount_refunded"] == 300
        [refunded] = executed(simulator[1], "refund", "re_crash")
        assert (refunded["approved"], refunded["amount"]) == (True, 300)
    finally:
        vault.stop()
