"""Fraud service settings, read once at start from FRAUD_* variables."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
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
    clearance_ttl_seconds: int = 120
    log_level: str = "INFO"
