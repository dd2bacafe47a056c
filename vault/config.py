"""The vault's settings: built once at start from VAULT_* variables or keyword arguments."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from vault.secret_files import FileSettings


def decode_key32(encoded: str) -> bytes:
    """32 bytes from standard base64, or ValueError (without the value)."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("must be base64") from None
    if len(raw) != 32:
        raise ValueError("must be base64 of exactly 32 bytes")
    return raw


def _check_edge_credential(edge: str, stacks: set[str]) -> None:
    """Each value of edge_credential: 16 or more visible ASCII characters (a header's), and
    none an API stack's credential (a stack would otherwise name whom the vault paces)."""
    values = [v.strip() for v in edge.split(",")]
    if not all(len(v) >= 16 and v.isascii() and v.isprintable() and " " not in v for v in values):
        raise ValueError("edge_credential: each value 16 or more visible ASCII characters")
    if stacks & set(values):
        raise ValueError("edge_credential must differ from test_credential and live_credential")


class Settings(FileSettings):
    """Every secret is required and has no default: a vault missing one does not start.
    VAULT_X_FILE sets VAULT_X from a mounted secret file (vault.secret_files)."""

    model_config = SettingsConfigDict(env_prefix="VAULT_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = 8084
    data_dir: Path = Path("var")
    database_url: str | None = Field(default=None, description="default: sqlite in data_dir")
    keyring_path: Path | None = Field(default=None, description="default: in data_dir")
    test_credential: SecretStr = Field(min_length=16, description="the test API stack's")
    live_credential: SecretStr = Field(min_length=16, description="the live API stack's")
    fraud_public_key: str = Field(description="base64 of fraud's raw Ed25519 public key")
    fingerprint_key: SecretStr = Field(description="base64 of 32 random bytes")
    key_hash_secret: SecretStr = Field(min_length=16, description="HMAC key for merchant keys")
    network_url: str = "http://127.0.0.1:8086"
    network_credential: SecretStr = Field(min_length=16)
    network_timeout: float = Field(default=10.0, gt=0)
    network_retry_budget: float = Field(
        default=4.0, ge=0, description="seconds a request asks again for a lost answer"
    )
    network_ca_file: Path | None = Field(
        default=None, description="CA of the card network's certificate; unset: the system's"
    )
    log_level: str = "INFO"
    environment: str = Field(
        default="development",
        pattern=r"^[a-z0-9-]{1,32}$",
        description="which environment this vault serves; operator commands must name it",
    )
    # Master keys: the local keyring file, or HashiCorp Vault / OpenBao Transit.
    key_provider: Literal["local", "transit"] = "local"
    transit_url: str = "http://127.0.0.1:8200"
    transit_token: SecretStr | None = None
    transit_mount: str = "transit"
    transit_key: str = "strongroom-vault"
    transit_ca_file: Path | None = Field(
        default=None,
        description="CA of Transit's certificate; unset: the system's. Only this: no CA "
        "bundle, proxy or netrc is taken from the environment.",
    )
    operator_public_key: str | None = Field(
        default=None, description="base64 of the raw Ed25519 key that signs operator commands"
    )
    # Signed checkpoints of the audit log and its closed segments, written to the archive
    # (locally DATA_DIR/audit-archive; in production a directory synced to a locked bucket).
    audit_archive_dir: Path | None = Field(default=None, description="default: in data_dir")
    audit_checkpoint_key_path: Path | None = Field(default=None, description="default: in data_dir")
    audit_checkpoint_interval: float = Field(default=60.0, gt=0, description="seconds")
    # TLS on the vault's own port: both files or neither (the dev stack keeps loopback HTTP).
    tls_cert_file: Path | None = Field(default=None, description="PEM certificate chain")
    tls_key_file: Path | None = Field(default=None, description="PEM private key")
    # GET /metrics on an internal port of its own (plain HTTP), never the vault's port.
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="unset: none")
    metrics_host: str = "127.0.0.1"
    clearance_max_lifetime: int = Field(
        default=120, gt=0, description="seconds; fraud's clearance lifetime (its default)"
    )
    cvc_ttl: int = Field(default=900, gt=0, description="seconds a CVC is kept unused at most")
    # Recovery (docs/vault.md): work left processing past its lease is finished by the
    # completer, which runs every completer_interval seconds.
    claim_lease: int = Field(default=3, ge=2, description="seconds; renewed while worked on")
    completer_interval: float = Field(default=1.0, gt=0, description="seconds")
    # Against guessing card numbers through tokenisation (docs/vault.md, "Fingerprints").
    tokenise_per_client_minute: int = Field(default=30, ge=1, description="per client address")
    tokenise_per_key_minute: int = Field(default=600, ge=1, description="per merchant key")
    # Whose X-Forwarded-For names the client to pace: the edge's addresses only (comma-
    # separated). Anyone else is paced by its own socket address, whatever it claims.
    trusted_proxies: str = Field(
        default="", description="addresses or networks (CIDR) of the edge, comma-separated"
    )
    # And only when the request carries the edge's credential (Strongroom-Edge-Credential):
    # an address is no proof, as every process on the edge's host or subnets shares it.
    edge_credential: SecretStr | None = Field(
        default=None,
        description="what the edge sends (EDGE_VAULT_CREDENTIAL); comma-separated while it is "
        "rotated; unset: no X-Forwarded-For is believed",
    )
    guessing_limit: int = Field(
        default=10, ge=1, description="cards with one BIN and last four in guessing_window"
    )
    guessing_window: int = Field(default=3600, ge=1, description="seconds guessing_limit covers")
    # Slow callers (docs/vault.md, "Slow callers"): uvicorn times neither, so the vault does.
    head_timeout: float = Field(
        default=10.0,
        gt=0,
        description="seconds from a connection's accept, or its previous answer, to a whole "
        "request head; then 408 (or a silent close if nothing came) and the connection closed",
    )
    body_timeout: float = Field(
        default=10.0,
        gt=0,
        description="seconds from a head to its whole body (16 KiB at most); then 408, closed",
    )
    # Caps on live charge volume, in minor units; operators change them by signed command.
    marketplace_minute_cap: int = Field(default=5_000_000, ge=0)
    marketplace_total_cap: int = Field(default=1_000_000_000, ge=0)
    global_minute_cap: int = Field(default=50_000_000, ge=0)
    global_total_cap: int = Field(default=10_000_000_000, ge=0)

    @field_validator("fraud_public_key", "operator_public_key", "fingerprint_key")
    @classmethod
    def _keys_are_32_bytes(cls, value: str | SecretStr | None) -> str | SecretStr | None:
        if value is not None:
            decode_key32(value.get_secret_value() if isinstance(value, SecretStr) else value)
        return value

    @model_validator(mode="after")
    def _credentials_differ(self) -> Settings:
        # The mode of a charge is read from which credential called: they must not coincide.
        if self.test_credential.get_secret_value() == self.live_credential.get_secret_value():
            raise ValueError("test_credential and live_credential must differ")
        if self.edge_credential is not None:
            stacks = {
                self.test_credential.get_secret_value(),
                self.live_credential.get_secret_value(),
            }
            _check_edge_credential(self.edge_credential.get_secret_value(), stacks)
        if self.key_provider == "transit":
            if self.transit_token is None:
                raise ValueError("key_provider transit needs transit_token")
            _check_transit_url(self.transit_url)
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        return self

    @property
    def vault_dir(self) -> Path:
        return self.data_dir / "vault"

    @property
    def db_url(self) -> str:
        """The configured database, or a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.vault_dir / 'vault.db'}"

    @property
    def keyring_file(self) -> Path:
        return self.keyring_path or self.vault_dir / "keyring.json"

    @property
    def audit_path(self) -> Path:
        return self.vault_dir / "audit.log"

    @property
    def archive_dir(self) -> Path:
        return self.audit_archive_dir or self.data_dir / "audit-archive"

    @property
    def checkpoint_key_file(self) -> Path:
        """The checkpoint signing key; the security team gets the `.pub` file beside it."""
        return self.audit_checkpoint_key_path or self.vault_dir / "audit-checkpoint.key"


def _check_transit_url(url: str) -> None:
    """Data keys travel to Transit and back: in the clear only to this host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("transit_url must be an http(s) URL with a host")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError("transit_url must be https:// off this host: data keys travel on it")
