"""TLS for the app-zone services: each serves it when given a certificate and key, and each
client of another service verifies that service's certificate, against the CA file given
for that upstream or else the system's CAs. The dev stack keeps plain HTTP on loopback.

The vault and the edge carry the same options with their own code (they import nothing of
this repository). docs/operations.md, "TLS".
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from servicekit.secret_files import FileSettings


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """How a client verifies an upstream: only certificates from `ca_file` when given,
    else the system's CAs; host names checked, TLS 1.2 at least, in both cases."""
    context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server's context: its certificate chain and key, TLS 1.2 at least."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


class ServiceSettings(FileSettings):
    """What every app-zone service's settings share: TLS on its port, its metrics port,
    and NAME_FILE for every setting (servicekit.secret_files)."""

    tls_cert_file: Path | None = Field(
        default=None, description="PEM certificate chain: serve HTTPS (with tls_key_file)"
    )
    tls_key_file: Path | None = Field(default=None, description="PEM private key")
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="internal port of GET /metrics (plain HTTP, on metrics_host); unset: none",
    )
    metrics_host: str = Field(default="127.0.0.1", description="address of the metrics port")

    @model_validator(mode="after")
    def _tls_pair(self) -> Any:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        return self

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert_file is not None else "http"
