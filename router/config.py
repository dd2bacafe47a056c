"""Router settings, from ROUTER_* variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_")

    host: str = "127.0.0.1"
    port: int = 8081
    test_url: str = "http://127.0.0.1:8082"
    live_url: str = "http://127.0.0.1:8083"
    # Each stack has its own timeout and connection pool, so a slow test stack
    # cannot hold the connections the live stack needs.
    test_timeout_seconds: float = 30.0
    live_timeout_seconds: float = 30.0
    test_max_connections: int = 100
    live_max_connections: int = 100
    log_level: str = "INFO"
