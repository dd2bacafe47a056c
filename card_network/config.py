"""Card-network simulator settings, from NETWORK_* variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.tls import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NETWORK_")

    host: str = "127.0.0.1"
    port: int = 8086
    credential: SecretStr
    data_dir: Path = Path("var")
    log_level: str = "INFO"

    @property
    def record_path(self) -> Path:
        return self.data_dir / "card_network" / "messages.jsonl"
