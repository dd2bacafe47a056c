"""Router settings, from ROUTER_* variables: each stack configured on its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit.tls import ServiceSettings

Mode = Literal["test", "live"]


@dataclass(frozen=True)
class StackSettings:
    url: str
    timeout_seconds: float
    connect_timeout_seconds: float
    # Connections kept open to the stack (the pool) and requests let in at once; the rest
    # wait in a short queue, and past it are refused at once with 503. Each stack has its
    # own: a flooded test stack fills its own queue and never the live stack's.
    max_connections: int
    max_in_flight: int
    queue: int
    queue_timeout_seconds: float
    # Requests a second let through to the stack, in all and per API key (0: no limit);
    # the router's CPU is shared by both stacks.
    max_rate: float
    max_rate_per_key: float
    # A refusal waits this long before its 503, so clients that retry at once slow down.
    refuse_after_seconds: float
    # The CA that signs the stack's certificate (an https:// url); None: the system's CAs.
    ca_file: Path | None


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_")

    host: str = "127.0.0.1"
    port: int = 8081
    test_url: str = "http://127.0.0.1:8082"
    live_url: str = "http://127.0.0.1:8083"
    test_timeout_seconds: float = Field(default=30.0, gt=0)
    live_timeout_seconds: float = Field(default=30.0, gt=0)
    test_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    live_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    test_max_connections: int = Field(default=32, ge=1)
    live_max_connections: int = Field(default=64, ge=1)
    test_max_in_flight: int = Field(default=32, ge=1)
    live_max_in_flight: int = Field(default=64, ge=1)
    test_queue: int = Field(default=128, ge=0)
    live_queue: int = Field(default=256, ge=0)
    test_queue_timeout_seconds: float = Field(default=5.0, gt=0)
    live_queue_timeout_seconds: float = Field(default=10.0, gt=0)
    # Test traffic is paced so that it can use a bounded share of the router's CPU: 25 a
    # second per key (Stripe's test-mode limit), 100 in all.
    test_max_rate: float = Field(default=100.0, ge=0)
    live_max_rate: float = Field(default=0.0, ge=0)
    test_max_rate_per_key: float = Field(default=25.0, ge=0)
    live_max_rate_per_key: float = Field(default=0.0, ge=0)
    test_refuse_after_seconds: float = Field(default=1.0, ge=0)
    live_refuse_after_seconds: float = Field(default=0.0, ge=0)
    # Each stack's /healthz is polled; a stack failing it is refused fast (503) until it passes.
    health_interval_seconds: float = Field(default=1.0, gt=0)
    unhealthy_after: int = Field(default=2, ge=1)
    test_ca_file: Path | None = None
    live_ca_file: Path | None = None
    log_level: str = "INFO"

    def stack(self, mode: Mode) -> StackSettings:
        """The settings of one stack, from its `test_…` or `live_…` fields."""
        values = {
            name: getattr(self, f"{mode}_{name}")
            for name in StackSettings.__dataclass_fields__  # the same names, prefixed
        }
        return StackSettings(**values)
