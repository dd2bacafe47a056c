"""Throwaway CAs and the server certificates they sign, for tests' local TLS servers: a
service serving HTTPS, a live webhook receiver (it must be https://). The client under
test is told to trust the CA's file."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Names a test receiver answers to: loopback, and any name a test resolves to it.
NAMES = ("localhost", "*.shop.test")
ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    file: Path  # its certificate, PEM: what a client trusts


@dataclass(frozen=True)
class LocalPki:
    """The CA's certificate (what the client trusts) and a server's certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_ca(directory: Path, name: str = "Strongroom tests CA", days: int = 7) -> Ca:
    """A new CA, its certificate written to `directory`/`name`.crt."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _valid(x509.CertificateBuilder(), days)
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    file = directory / f"{name.replace(' ', '-')}.crt"
    file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Ca(cert, key, file)


def issue(
    ca: Ca,
    directory: Path,
    names: tuple[str, ...] = NAMES,
    addresses: tuple[str, ...] = ADDRESSES,
    days: int = 7,
) -> tuple[Path, Path]:
    """A server certificate for `names` and `addresses` signed by `ca`, and its key (0600),
    as `directory`/server.crt and server.key."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        _valid(x509.CertificateBuilder(), days)
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.crt", directory / "server.key"
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


def make_pki(directory: Path, days: int = 7) -> LocalPki:
    """A new CA and a certificate for NAMES and ADDRESSES, as PEM files in `directory`."""
    ca = make_ca(directory, days=days)
    cert_file, key_file = issue(ca, directory, days=days)
    return LocalPki(ca.file, cert_file, key_file)


def _valid(builder: x509.CertificateBuilder, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        builder.serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )
