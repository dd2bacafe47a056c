"""The demo shop's settings, read once at start from ``MERCHANT_*`` environment variables."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the shop can be told. Tests pass keyword arguments instead of variables."""

    model_config = SettingsConfigDict(env_prefix="MERCHANT_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=1, le=65535, description="Port to listen on.")
    edge_url: str = Field(
        "http://127.0.0.1:8080", description="Where this server reaches the Strongroom edge."
    )
    api_url: str = Field(
        "http://api.localhost:8080", description="The API host as browsers and this server name it."
    )
    js_url: str = Field(
        "http://js.localhost:8080", description="The js host that serves strongroom.js."
    )
    pk_test: str = Field(description="Publishable key: goes into the checkout pages.")
    sk_test: SecretStr = Field(description="Secret key: charges tokens, never leaves this server.")
    record_limit: int = Field(
        1000, gt=0, description="How many received requests the shop keeps for /_demo/requests."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("edge_url", "api_url", "js_url")
    @classmethod
    def _origin(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ValueError("must be an http:// or https:// origin, without a path")
        return value.rstrip("/")

    @field_validator("pk_test")
    @classmethod
    def _publishable(cls, value: str) -> str:
        if not value.startswith("pk_test_"):
            raise ValueError("must be a test publishable key (pk_test_…)")
        return value

    @field_validator("sk_test")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("sk_test_"):
            raise ValueError("must be a test secret key (sk_test_…)")
        return value
