"""Fraud service settings, read once at start from FRAUD_* variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.tls import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUD_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = 8085
    # The API stack of each mode has its own credential; the mode comes from it.
    test_credential: SecretStr
    live_credential: SecretStr
    # Base64 of the raw 32-byte Ed25519 private key whose public half the vault holds.
    signing_key: SecretStr
    # "memory" keeps counters in this process (dev); a redis:// URL shares them.
    counters_url: str = "memory"
    counters_prefix: str = "strongroom:fraud:"
    # A Redis slower than this fails the assessment (closed), never waits it out.
    counters_timeout_seconds: float = 0.5
    data_dir: Path = Path("var")
    # Rules, value lists and decisions: a SQLite file under data_dir unless a URL is given.
    database_url: str | None = None
    clearance_ttl_seconds: int = 120
    # How stale another process's change to rules or lists may be here (this process's
    # own changes apply to the next assessment).
    rules_refresh_seconds: float = 1.0
    log_level: str = "INFO"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        folder = self.data_dir / "fraud"
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'fraud.db'}"
