"""API stack settings, from API_* variables. One code base, run once per mode."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.tls import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="API_")

    mode: Literal["test", "live"]
    host: str = "127.0.0.1"
    port: int = 8082
    # Processes serving this stack (uvicorn workers); each runs a webhook worker thread.
    workers: int = Field(default=1, ge=1, le=64)
    # CPU priority of the stack's processes: "low" is niceness 10; "idle" is Linux's
    # SCHED_IDLE, which any ordinary process preempts at once. `strongroom up` runs the
    # test stack at "idle", so a flood of test traffic yields the CPU to live traffic.
    cpu_priority: Literal["normal", "low", "idle"] = "normal"
    data_dir: Path = Path("var")
    # Default: a SQLite file of this stack's own; production passes a PostgreSQL URL.
    database_url: str | None = None
    # Merchant keys are stored only as HMAC-SHA256 under this secret; ids derived from
    # idempotency keys and webhook signing secrets are derived from it too.
    key_hash_secret: SecretStr
    vault_url: str = "http://127.0.0.1:8084"
    vault_credential: SecretStr
    # The `strongroom` command's credential for /admin/v1 (marketplaces, keys); unset: off.
    admin_credential: SecretStr | None = Field(default=None, min_length=16)
    fraud_url: str = "http://127.0.0.1:8085"
    fraud_credential: SecretStr
    # CAs that sign the vault's and fraud's certificates (https:// urls); unset: the system's.
    vault_ca_file: Path | None = None
    fraud_ca_file: Path | None = None
    upstream_timeout_seconds: float = 20.0
    # Webhooks: attempt n failing waits base·2^(n-1) (at most the cap); after the last
    # attempt the delivery is dead (the dead-letter list) until redelivered on demand.
    webhook_worker: bool = True
    webhook_max_attempts: int = Field(default=10, ge=1)
    webhook_backoff_seconds: float = Field(default=60.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Between looks for due deliveries when nothing woke the worker: a POST that queued
    # webhooks, a completer pass or housekeeping that did wake it at once; what waits for
    # the poll is a retry come due (backoff 60 s and more) or a lease lapsed.
    webhook_poll_seconds: float = Field(default=5.0, gt=0)
    webhook_concurrency: int = Field(default=4, ge=1, le=64)
    # Off in production: a merchant could otherwise make the API post into our network.
    webhook_allow_private_networks: bool = False
    # CAs a webhook destination's certificate must chain to; unset: the public roots
    # (certifi). For receivers behind a private CA, and tests' local TLS receivers.
    webhook_ca_file: Path | None = None
    # A review left open this long closes by this action (approve captures, reject voids).
    review_timeout_seconds: float = Field(default=7 * 86400.0, gt=0)
    review_timeout_action: Literal["approve", "reject"] = "reject"
    # The completer (api.charges.completer, docs/api.md "Recovery points"): every
    # interval, it finishes what a request left at a recovery point longer than
    # stuck_after; a charge the vault never received is sent again until give_up_after,
    # then failed (nothing charged). The lease: how long after this process's last
    # heartbeat a retry may take over the Idempotency-Keys it held (it died).
    completer: bool = True
    completer_interval_seconds: float = Field(default=5.0, gt=0)
    completer_stuck_after_seconds: float = Field(default=30.0, ge=0)
    completer_give_up_after_seconds: float = Field(default=3600.0, gt=0)
    lease_seconds: float = Field(default=15.0, gt=0)
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
