"""TLS between the services, with a CA generated here: a service serves HTTPS when given a
certificate and key; each kind of client (the edge's own, the router's and the API's httpx
clients) reaches it when its CA file names the CA that signed it, and refuses it when the
CA file names another."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from api.clients.fraud import FraudClient, FraudUnavailable
from api.clients.vault import VaultClient
from edge_proxy.app import EdgeServer
from edge_proxy.config import Settings as EdgeSettings
from edge_proxy.wire.client import UpstreamError, UpstreamPool
from router.config import Settings as RouterSettings
from router.stacks import Stack
from servicekit import ServiceError
from servicekit.tls import client_context
from strongroom.supervisor import free_ports
from tests.helpers.tls import issue, make_ca


@dataclass
class Pki:
    ca: Path
    other_ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca, other = make_ca(directory, "strongroom-ca"), make_ca(directory, "someone-else")
    cert, key = issue(ca, directory, names=("localhost",), addresses=("127.0.0.1",))
    return Pki(ca.file, other.file, cert, key)


@pytest.fixture(scope="module")
def https_service(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m card_network` serving HTTPS (servicekit.serve, as every app-zone
    service serves it) with the CA-signed certificate."""
    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETWORK_")}
    env.update(
        NETWORK_PORT=str(port),
        NETWORK_CREDENTIAL="n" * 24,
        NETWORK_DATA_DIR=str(tmp_path_factory.mktemp("network")),
        NETWORK_TLS_CERT_FILE=str(pki.cert),
        NETWORK_TLS_KEY_FILE=str(pki.key),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "card_network"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the service exited"
            try:
                httpx.get(url + "/healthz", verify=client_context(pki.ca), timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service never answered"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_a_service_serves_https_and_refuses_plain_http(https_service: str, pki: Pki) -> None:
    response = httpx.get(https_service + "/healthz", verify=client_context(pki.ca))
    assert response.json()["status"] == "ok"
    with pytest.raises(httpx.TransportError):
        httpx.get(https_service.replace("https", "http") + "/healthz", timeout=5)


def test_the_edges_client_verifies_against_its_ca_file(https_service: str, pki: Pki) -> None:
    async def healthz(ca_file: Path) -> int:
        pool = UpstreamPool(https_service, timeout=5, max_response_bytes=1 << 20, ca_file=ca_file)
        try:
            return (await pool.send("GET", b"/healthz", [], b"")).status_code
        finally:
            pool.close()

    assert asyncio.run(healthz(pki.ca)) == 200
    with pytest.raises(UpstreamError) as refused:
        asyncio.run(healthz(pki.other_ca))
    assert refused.value.kind == "unavailable"


def test_the_routers_client_verifies_against_its_ca_file(https_service: str, pki: Pki) -> None:
    async def healthy(ca_file: Path) -> bool:
        settings = RouterSettings(test_url=https_service, test_ca_file=ca_file)
        stack = Stack("test", settings.stack("test"))
        try:
            await stack.probe(unhealthy_after=1)
            return stack.healthy
        finally:
            await stack.close()

    assert asyncio.run(healthy(pki.ca)) is True
    assert asyncio.run(healthy(pki.other_ca)) is False


def test_the_apis_clients_verify_against_their_ca_files(https_service: str, pki: Pki) -> None:
    # The service answers these paths 404 (or 401): reached, as opposed to refused.
    trusted = VaultClient(https_service, "credential", 5.0, ca_file=pki.ca)
    with pytest.raises(ServiceError) as reached:
        trusted.card("card_x", "mkt_x")
    assert reached.value.status_code in (401, 404)
    refused = VaultClient(https_service, "credential", 5.0, ca_file=pki.other_ca)
    with pytest.raises(ServiceError) as failed:
        refused.card("card_x", "mkt_x")
    assert failed.value.status_code == 502

    with pytest.raises(FraudUnavailable, match="status"):
        FraudClient(https_service, "credential", 5.0, ca_file=pki.ca).assess({})
    with pytest.raises(FraudUnavailable, match="ConnectFailed"):  # the CA refused: never sent
        FraudClient(https_service, "credential", 5.0, ca_file=pki.other_ca).assess({})


def test_the_edge_serves_https_on_its_public_port(pki: Pki, tmp_path: Path) -> None:
    port, metrics = free_ports(2)
    settings = EdgeSettings(
        port=port, metrics_port=metrics, tls_cert_file=pki.cert, tls_key_file=pki.key
    )

    async def check() -> tuple[int, str]:
        client = httpx.AsyncClient(verify=client_context(pki.ca))
        async with EdgeServer(settings), client:
            response = await client.get(f"https://127.0.0.1:{port}/healthz")
            scraped = await client.get(f"http://127.0.0.1:{metrics}/metrics")
        return response.status_code, scraped.text

    status, text = asyncio.run(check())
    assert status == 200 and "edge_requests_total" in text


@pytest.mark.parametrize("settings_class", [EdgeSettings, RouterSettings], ids=["edge", "router"])
def test_a_certificate_without_its_key_is_refused(settings_class, pki: Pki) -> None:
    with pytest.raises(ValidationError, match="go together"):
        settings_class(tls_cert_file=pki.cert)


def test_the_vaults_network_client_verifies_against_its_ca_file(
    https_service: str, pki: Pki
) -> None:
    from vault.cardnet import Authorization, CardNetwork, NetworkUnavailable
    from vault.domain.secret import Pan

    def authorize(ca_file: Path, reference: str) -> bool:
        client = CardNetwork(https_service, "n" * 24, 5.0, ca_file=ca_file)
        try:
            pan = Pan("4242424242424242")
            request = Authorization(reference, "mkt_tls", pan, 12, 2040, None, 500, "usd")
            return client.authorize(request).approved
        finally:
            client.close()

    assert authorize(pki.ca, "ch_tls_trusted") is True
    with pytest.raises(NetworkUnavailable) as refused:
        authorize(pki.other_ca, "ch_tls_refused")
    assert refused.value.sent is False  # the handshake refused it: no request left
