"""`python -m vault` serves TLS when given a certificate and key, and a client that trusts
only that certificate's CA reaches it; a plain-HTTP client does not."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from strongroom.devkeys import generate
from strongroom.supervisor import free_ports
from tests.helpers.tls import issue, make_ca
from vault.config import Settings


def test_the_vault_serves_tls_to_clients_that_trust_its_ca(tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    cert_file, key_file = issue(ca, tmp_path, names=(), addresses=("127.0.0.1",))
    keys = generate()
    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(
        VAULT_PORT=str(port),
        VAULT_DATA_DIR=str(tmp_path / "var"),
        VAULT_TEST_CREDENTIAL=keys.vault_test_credential,
        VAULT_LIVE_CREDENTIAL=keys.vault_live_credential,
        VAULT_FRAUD_PUBLIC_KEY=keys.fraud_public_key,
        VAULT_FINGERPRINT_KEY=keys.vault_fingerprint_key,
        VAULT_KEY_HASH_SECRET=keys.vault_key_hash_secret,
        VAULT_NETWORK_CREDENTIAL=keys.network_credential,
        VAULT_TLS_CERT_FILE=str(cert_file),
        VAULT_TLS_KEY_FILE=str(key_file),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "vault"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    trust = ssl.create_default_context(cafile=str(ca.file))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trust, timeout=5)
                break
            except httpx.ConnectError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the vault did not answer over TLS"
                time.sleep(0.2)
        assert answer.status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        with pytest.raises(httpx.ConnectError):  # a client that does not trust the CA
            httpx.get(f"https://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    keys = generate()
    with pytest.raises(ValidationError, match="go together"):
        Settings(
            test_credential=keys.vault_test_credential,
            live_credential=keys.vault_live_credential,
            fraud_public_key=keys.fraud_public_key,
            fingerprint_key=keys.vault_fingerprint_key,
            key_hash_secret=keys.vault_key_hash_secret,
            network_credential=keys.network_credential,
            tls_cert_file=tmp_path / "tls.crt",
        )
