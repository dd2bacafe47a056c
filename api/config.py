"""API stack settings, from API_* variables. One code base, run once per mode."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="API_")

    mode: Literal["test", "live"]
    host: str = "127.0.0.1"
    port: int = 8082
    data_dir: Path = Path("var")
    # Default: a SQLite file of this stack's own; production passes a PostgreSQL URL.
    database_url: str | None = None
    # Merchant keys are stored only as HMAC-SHA256 under this secret.
    key_hash_secret: SecretStr
    vault_url: str = "http://127.0.0.1:8084"
    vault_credential: SecretStr
    fraud_url: str = "http://127.0.0.1:8085"
    fraud_credential: SecretStr
    upstream_timeout_seconds: float = 20.0
    log_level: str = "INFO"

    @property
    def livemode(self) -> bool:
        return self.mode == "live"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        folder = self.data_dir / f"api-{self.mode}"
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'api.db'}"
