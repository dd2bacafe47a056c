"""`python -m vault` serves TLS when given a certificate and key, and a client that trusts
only that certificate's CA reaches it; a plain-HTTP client does not."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from strongroom.devkeys import generate
from strongroom.supervisor import free_ports
from vault.config import Settings


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vault.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def test_the_vault_serves_tls_to_clients_that_trust_its_ca(tmp_path: Path) -> None:
    cert_file, key_file = self_signed(tmp_path)
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
    trust = ssl.create_default_context(cafile=str(cert_file))
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
