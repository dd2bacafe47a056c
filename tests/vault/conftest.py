"""Fixtures for the vault: settings, a running app over either store, a fake card network."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import hvac  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from strongroom.testcards import luhn_check_digit
from tests.helpers.servers import free_port, serving
from tests.vault.leaks import LeakScan
from vault.app import create_app
from vault.config import Settings

MARKETPLACE = "mkt_alpha"
OTHER_MARKETPLACE = "mkt_beta"
KEYS = {
    "pk_test": "pk_test_alphaPublishableTestKey",
    "sk_test": "sk_test_alphaSecretTestKey0000",
    "pk_live": "pk_live_alphaPublishableLiveKey",
    "sk_live": "sk_live_alphaSecretLiveKey0000",
    "other_pk_test": "pk_test_betaPublishableTestKey0",
    "gamma_pk_live": "pk_live_gammaPublishableLiveKey0",  # registered by the tests needing it
}
MARKETPLACE_KEYS = ("pk_test", "sk_test", "pk_live", "sk_live")
TEST_CREDENTIAL = "test-stack-credential-0123456789"
LIVE_CREDENTIAL = "live-stack-credential-0123456789"
NETWORK_CREDENTIAL = "network-credential-0123456789"
NEXT_YEAR = dt.datetime.now(dt.UTC).year + 1
OPERATOR_KEY = Ed25519PrivateKey.generate()  # signs the operator commands of every test vault
LEAKS = LeakScan()  # every card number and CVC sent, every place the vault kept data


@pytest.fixture(scope="session", autouse=True)
def _no_card_data_left_anywhere() -> Iterator[None]:
    """After the whole run, a byte-scan of every vault database, file, audit log and log record
    for every card number and CVC any test sent (each PostgreSQL database is scanned before
    it is dropped)."""
    handler = LEAKS.capture_logs()
    yield
    logging.getLogger().removeHandler(handler)
    LEAKS.scan_files()
    LEAKS.scan_logs()
    assert not LEAKS.findings, "\n".join(sorted(set(LEAKS.findings))[:40])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def luhn_number(prefix: str, length: int = 16) -> str:
    """A Luhn-valid number made up at test time (never a real card)."""
    body = prefix + "".join(str(b % 10) for b in os.urandom(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


@pytest.fixture
def fraud_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def sign(fraud_key: Ed25519PrivateKey) -> Callable[..., dict[str, str]]:
    """Signs a clearance as fraud does; keyword arguments override or add payload fields."""

    def _sign(raw: bytes | None = None, **fields: Any) -> dict[str, str]:
        body = {"decision": "allow", "expires_at": int(time.time()) + 60, **fields}
        payload = (
            raw
            if raw is not None
            else json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        )
        return {"payload": b64url(payload), "signature": b64url(fraud_key.sign(payload))}

    return _sign


def raw_public(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def signed_command(
    audience: dict[str, str], key: Ed25519PrivateKey = OPERATOR_KEY, **fields: Any
) -> dict[str, str]:
    """An operator command as `strongroom vault …` sends it, for the vault and environment
    `audience` names; fields override the envelope."""
    envelope = {"nonce": secrets.token_urlsafe(16), "expires_at": int(time.time()) + 60}
    body = {**envelope, **audience, **fields}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return {"payload": b64url(payload), "signature": b64url(key.sign(payload))}


def register_keys(client: TestClient, marketplace: str, keys: list[str]) -> None:
    """Let `keys` tokenise for `marketplace`, as `strongroom marketplace create` does: a
    signed register_keys command to the running vault (the one way keys reach it)."""
    health = client.get("/healthz").json()
    audience = {"vault": health["vault_id"], "environment": health["environment"]}
    command = {"action": "register_keys", "marketplace": marketplace, "keys": keys}
    done = client.post("/admin/v1/commands", json=signed_command(audience, command=command))
    assert done.status_code == 200, done.text


def make_settings(data_dir: Path, fraud_key: Ed25519PrivateKey, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "test_credential": TEST_CREDENTIAL,
        "live_credential": LIVE_CREDENTIAL,
        "fraud_public_key": raw_public(fraud_key),
        "operator_public_key": raw_public(OPERATOR_KEY),
        "fingerprint_key": base64.b64encode(b"f" * 32).decode(),
        "key_hash_secret": "key-hash-secret-0123456789",
        "network_credential": NETWORK_CREDENTIAL,
        "network_url": "http://127.0.0.1:9",
        "network_timeout": 2.0,
        "network_retry_budget": 0.3,  # a lost answer is asked for four times in all
        # Paced only where a test is about pacing (tests/vault/routes/test_guessing.py).
        "tokenise_per_client_minute": 1_000_000,
        "tokenise_per_key_minute": 1_000_000,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings_factory(tmp_path: Path, fraud_key: Ed25519PrivateKey) -> Callable[..., Settings]:
    def _make(**overrides: Any) -> Settings:
        return make_settings(tmp_path / "data", fraud_key, **overrides)

    return _make


@dataclass
class FakeNetwork:
    """Stands in for the card network simulator and records every authorisation."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    delay: float = 0.0
    # Captures, voids and refunds: (kind, body), and the reply they get.
    settled: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    settle_reply: dict[str, Any] = field(default_factory=dict)
    settle_status: int = 200
    # The next this many messages (of any kind) are received but answered 502, as an
    # answer lost on its way back.
    lose_next: int = 0

    def lost(self) -> bool:
        if self.lose_next > 0:
            self.lose_next -= 1
            return True
        return False

    def reset(self) -> None:
        self.received.clear()
        self.headers.clear()
        self.settled.clear()
        self.settle_reply = {"approved": True, "code": "approved"}
        self.reply = {"approved": True, "code": "approved", "authorization_code": "NET123"}
        self.status = 200
        self.settle_status = 200
        self.delay = 0.0
        self.lose_next = 0


@pytest.fixture(scope="session")
def _network_server() -> Iterator[FakeNetwork]:
    fake = FakeNetwork()

    async def authorizations(request: Request) -> JSONResponse:
        fake.headers.append(request.headers.get("authorization", ""))
        fake.received.append(json.loads(await request.body()))
        if fake.delay:
            time.sleep(fake.delay)  # blocks this one-worker server on purpose
        if fake.lost():
            return JSONResponse({}, status_code=502)
        return JSONResponse(fake.reply, status_code=fake.status)

    async def settle(request: Request) -> JSONResponse:
        fake.settled.append((request.path_params["kind"], json.loads(await request.body())))
        if fake.lost():
            return JSONResponse({}, status_code=502)
        return JSONResponse(fake.settle_reply, status_code=fake.settle_status)

    app = Starlette(
        routes=[
            Route("/v1/authorizations", authorizations, methods=["POST"]),
            Route("/v1/{kind:str}", settle, methods=["POST"]),
        ]
    )
    with serving(app) as url:
        fake.url = url
        yield fake


@pytest.fixture
def network(_network_server: FakeNetwork) -> FakeNetwork:
    _network_server.reset()
    return _network_server


@dataclass
class Harness:
    """A started vault with two marketplaces registered, and shortcuts for its routes.

    Test modules take everything from this object (no `from conftest import`), so they
    run the same under any pytest import mode.
    """

    client: TestClient
    settings: Settings
    sign: Callable[..., dict[str, str]]
    marketplace: str = MARKETPLACE
    other_marketplace: str = OTHER_MARKETPLACE
    keys: dict[str, str] = field(default_factory=lambda: dict(KEYS))
    test_credential: str = TEST_CREDENTIAL
    live_credential: str = LIVE_CREDENTIAL
    network_credential: str = NETWORK_CREDENTIAL
    next_year: int = NEXT_YEAR

    @staticmethod
    def number(prefix: str, length: int = 16) -> str:
        return luhn_number(prefix, length)

    def lapse(self, table: str) -> None:
        """End every lease on `table` (charges, settlements, refunds) now, as the lease of
        a vault killed mid-request ends."""
        assert table in ("charges", "settlements", "refunds")
        engine = create_engine(self.settings.db_url)
        with engine.begin() as conn:
            lapsed = f"UPDATE {table} SET lease_until = 0 WHERE status = 'processing'"  # noqa: S608
            conn.execute(text(lapsed))
        engine.dispose()

    def tokenise(
        self, number: str, key: str = "pk_test", cvc: str = "123", **extra: Any
    ) -> httpx.Response:
        body = {"number": number, "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": cvc, **extra}
        LEAKS.sent(number, cvc)
        headers = {"Authorization": f"Bearer {KEYS[key]}"}
        response: httpx.Response = self.client.post("/v1/cards", json=body, headers=headers)
        return response

    def token(self, number: str, key: str = "pk_test", cvc: str = "123") -> str:
        response = self.tokenise(number, key, cvc)
        assert response.status_code == 201, response.json()
        token: str = response.json()["id"]
        return token

    def metadata(
        self, token: str, marketplace: str = MARKETPLACE, live: bool = False
    ) -> httpx.Response:
        credential = LIVE_CREDENTIAL if live else TEST_CREDENTIAL
        response: httpx.Response = self.client.get(
            f"/internal/v1/cards/{token}",
            params={"marketplace": marketplace},
            headers={"Authorization": f"Bearer {credential}"},
        )
        return response

    def charge_body(
        self,
        token: str,
        charge_id: str = "ch_1",
        live: bool = False,
        amount: int = 1000,
        clearance: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A charge request and a clearance signed for it; `clearance` overrides signed fields."""
        request = {
            "charge_id": charge_id,
            "card": token,
            "marketplace": MARKETPLACE,
            "amount": amount,
            "currency": "usd",
        }
        signed = {**request, **self.card_facts(token), "livemode": live, **(clearance or {})}
        return {**request, "clearance": self.sign(**signed)}

    def card_facts(self, token: str) -> dict[str, str]:
        """What fraud scores of a card and its clearance names: BIN, last four, fingerprint."""
        engine = create_engine(self.settings.db_url)
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT bin, last4, fingerprint FROM cards WHERE token = :t"), {"t": token}
            ).first()
        engine.dispose()
        if row is None:  # no such card: facts that match nothing
            return {"bin": "000000", "last4": "0000", "fingerprint": "none"}
        return {"bin": row[0], "last4": row[1], "fingerprint": row[2]}

    def post_charge(self, body: dict[str, Any], live: bool = False) -> httpx.Response:
        credential = LIVE_CREDENTIAL if live else TEST_CREDENTIAL
        headers = {"Authorization": f"Bearer {credential}"}
        response: httpx.Response = self.client.post(
            "/internal/v1/charges", json=body, headers=headers
        )
        return response

    def charge(self, token: str, charge_id: str = "ch_1", live: bool = False) -> httpx.Response:
        return self.post_charge(self.charge_body(token, charge_id, live), live)

    def command(self, action: str, **args: Any) -> httpx.Response:
        """An operator command, signed with the operator key the test vault knows."""
        body = signed_command(self.audience(), command={"action": action, **args})
        response: httpx.Response = self.client.post("/admin/v1/commands", json=body)
        return response

    def register(self, marketplace: str, keys: list[str]) -> None:
        """Let `keys` tokenise for `marketplace`, as `strongroom marketplace create` does:
        a signed register_keys command to the running vault."""
        register_keys(self.client, marketplace, keys)

    def audience(self) -> dict[str, str]:
        """What a command for this vault names: its id and environment (from /healthz)."""
        health = self.client.get("/healthz").json()
        return {"vault": health["vault_id"], "environment": health["environment"]}

    def audit_entries(self) -> list[dict[str, Any]]:
        lines = self.settings.audit_path.read_text().splitlines()
        return [json.loads(line) for line in lines]


def _start(
    url: str,
    settings_factory: Callable[..., Settings],
    sign: Callable[..., dict[str, str]],
    network: FakeNetwork,
) -> Iterator[Harness]:
    settings = settings_factory(database_url=url, network_url=network.url)
    LEAKS.roots.add(settings.data_dir.parent)  # the data dir and a SQLite database beside it
    with TestClient(create_app(settings)) as client:
        harness = Harness(client, settings, sign)
        harness.register(MARKETPLACE, [KEYS[k] for k in MARKETPLACE_KEYS])
        harness.register(OTHER_MARKETPLACE, [KEYS["other_pk_test"]])
        yield harness
    LEAKS.scan_database(url)


@pytest.fixture
def vault(
    database_url: str,
    settings_factory: Callable[..., Settings],
    sign: Callable[..., dict[str, str]],
    network: FakeNetwork,
) -> Iterator[Harness]:
    """The vault on SQLite and on PostgreSQL, the fake network as its card network."""
    yield from _start(database_url, settings_factory, sign, network)


@pytest.fixture
def sqlite_vault(
    sqlite_url: str,
    settings_factory: Callable[..., Settings],
    sign: Callable[..., dict[str, str]],
    network: FakeNetwork,
) -> Iterator[Harness]:
    """The vault on SQLite only: for input checks that never reach the store."""
    yield from _start(sqlite_url, settings_factory, sign, network)


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real OpenBao dev server (the HashiCorp Vault API) with Transit enabled: (url, token)."""
    for url, token, _ in _openbao(tmp_path_factory.mktemp("bao-home"), tls=False):
        yield url, token


@pytest.fixture(scope="session")
def openbao_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """The same over TLS, its certificate signed by a CA of its own: (url, token, CA file)."""
    yield from _openbao(tmp_path_factory.mktemp("bao-tls-home"), tls=True)


def _openbao(home: Path, tls: bool) -> Iterator[tuple[str, str, Path]]:
    bao = Path(sys.executable).parent / "bao"
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(bao),
        "server",
        "-dev",
        f"-dev-root-token-id={token}",
        f"-dev-listen-address=127.0.0.1:{port}",
    ]
    if tls:
        command += ["-dev-tls", f"-dev-tls-cert-dir={home}"]
    process = subprocess.Popen(
        command,
        env={**os.environ, "HOME": str(home)},  # the dev server writes a token file in HOME
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    ca_file = home / "vault-ca.pem"  # what -dev-tls writes
    try:
        deadline = time.monotonic() + 30

        def waiting() -> None:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the OpenBao dev server did not start")
            time.sleep(0.02)

        verify: ssl.SSLContext | bool = True
        while tls and verify is True:  # its CA file is written as it starts
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError):
                waiting()
        with httpx.Client(timeout=1, verify=verify) as client:  # one client: 20 ms each
            while True:
                try:
                    if client.get(url + "/v1/sys/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                waiting()
        admin = hvac.Client(url=url, token=token, verify=str(ca_file) if tls else True)
        admin.sys.enable_secrets_engine("transit")
        yield url, token, ca_file
    finally:
        process.terminate()
        process.wait(10)
