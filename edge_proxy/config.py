"""The edge's settings, read once at start from ``EDGE_*`` environment variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from edge_proxy.detect.context import CONTEXT_WORDS, FIELD_NAMES, FIELD_WORDS, OTHER_WORDS, Rules
from edge_proxy.routing import host_name
from edge_proxy.wire.forwarded import proxy_networks

HostList = Annotated[list[str], NoDecode]


def _host_list(value: Any) -> Any:
    """Accept a JSON list or a comma-separated string; names are compared without port."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else text.split(",")
    if isinstance(value, list):
        return [host_name(str(item)) for item in value if str(item).strip()]
    return value


class Settings(BaseSettings):
    """Everything the edge can be told. Tests pass keyword arguments instead of variables."""

    model_config = SettingsConfigDict(env_prefix="EDGE_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8080, ge=1, le=65535, description="Port to listen on.")
    api_hosts: HostList = Field(
        ["api.localhost", "localhost", "127.0.0.1"],
        description="Host names of the public API (JSON list or comma-separated).",
    )
    js_hosts: HostList = Field(
        ["js.localhost"], description="Host names that serve the JS bundle (same format)."
    )
    vault_url: str = Field(
        "http://127.0.0.1:8084", description="Base URL of the vault: POST /v1/cards goes there."
    )
    router_url: str = Field(
        "http://127.0.0.1:8081",
        description="Base URL of the router: every other API request, once filtered.",
    )
    vault_credential: SecretStr | None = Field(
        None,
        description="Sent to the vault in Strongroom-Edge-Credential on every request the "
        "edge forwards there (a client's own is dropped): the vault believes the edge's "
        "X-Forwarded-For only with it (its VAULT_EDGE_CREDENTIAL). 16 or more visible ASCII "
        "characters. Unset: the vault paces every shopper as the edge's address.",
    )
    router_ca_file: Path | None = Field(
        None,
        description="CA file that signs the router's certificate (an https:// router_url); "
        "unset: the system's CAs.",
    )
    vault_ca_file: Path | None = Field(
        None,
        description="CA file that signs the vault's certificate (an https:// vault_url); "
        "unset: the system's CAs.",
    )
    tls_cert_file: Path | None = Field(
        None,
        description="PEM certificate chain: the public port serves HTTPS (with tls_key_file). "
        "Unset: plain HTTP, as the dev stack on loopback and behind a balancer that "
        "terminates TLS.",
    )
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_cert_file.")
    max_body_bytes: int = Field(
        1 << 20, gt=0, description="Largest request body accepted, in bytes; larger is 413."
    )
    max_inspect_bytes: int = Field(
        4 << 20,
        gt=0,
        description="Largest body once its Content-Encoding is undone; larger is 413 "
        "(requests) or 502 (responses): what cannot be inspected is not passed.",
    )
    max_inspect_seconds: float = Field(
        2.0,
        gt=0,
        description="CPU budget to inspect one body on the exact path; a body that needs "
        "more is refused (413) or withheld (502), never passed.",
    )
    max_inspect_queue: int = Field(
        4,
        ge=0,
        description="Bodies that may wait for a scan thread (two run at once) beyond those "
        "being scanned; one more is answered 503 inspection_busy at once.",
    )
    grouping: Literal["printed", "any"] = Field(
        "printed",
        description="Which digit groupings are card numbers on the brand rule alone: "
        "'printed' (bare, 4-4-4-4, 4-6-5, 4-6-4, one separator between groups of one to "
        "three digits); others need a card word, an expiry or a card field name near them. "
        "'any': every grouping, as strict as before, and order ids like 123-4567890-1234567 "
        "are refused one time in thirty.",
    )
    context_words: HostList = Field(
        sorted(CONTEXT_WORDS),
        description="Words that make a digit string near them a card number whatever its "
        "grouping (JSON list or comma-separated).",
    )
    context_field_words: HostList = Field(
        sorted(FIELD_WORDS),
        description="A field, parameter or header whose name has one of these words is "
        "card context for its value.",
    )
    context_field_names: HostList = Field(
        sorted(FIELD_NAMES),
        description="A field whose whole name (the last bracket of metadata[x]) is one of "
        "these is card context for its value (number, as in card[number]).",
    )
    context_other_words: HostList = Field(
        sorted(OTHER_WORDS),
        description="Words that, near a 14 or 15-digit number with a GS1 check digit or in "
        "its field's name, make it a shipment's or product's code (a FedEx Ground tracking "
        "number) rather than a card number, unless a card word is near too. Empty: none.",
    )
    max_response_bytes: int = Field(
        8 << 20, gt=0, description="Largest upstream response body read; larger is 502."
    )
    max_head_bytes: int = Field(
        32 * 1024, ge=1024, description="Largest request line and headers; larger is 431."
    )
    upstream_timeout: float = Field(
        45.0,
        gt=0,
        description="Seconds to wait for an upstream (connect, read, write): longer than "
        "the router may take (its queue and its stack's timeout), so that its answer, even "
        "a 504 of its own, is the one the client gets.",
    )
    read_timeout: float = Field(
        30.0, gt=0, description="Seconds a client has to send a whole request; then 408."
    )
    head_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a client has from a request's first byte to its head's end "
        "(within read_timeout); then 408.",
    )
    keepalive_timeout: float = Field(
        15.0, gt=0, description="Seconds an idle client connection is kept open."
    )
    max_connections: int = Field(
        1024,
        ge=1,
        description="Open client connections per worker; one more is answered 503 and "
        "closed at once (not left unaccepted in the kernel's queue, where it would wait "
        "unanswered).",
    )
    max_client_connection_share: float = Field(
        0.25,
        gt=0,
        le=1,
        description="The share of max_connections one client address may hold open at once; "
        "one more from it is answered 503 and closed. Behind a proxy that hides client "
        "addresses (every connection from its address), set 1.",
    )
    max_buffered_bytes: int = Field(
        64 << 20,
        gt=0,
        description="Request-body bytes a worker holds at once across its connections (a "
        "declared length counts in full from the head); a request past it is 503 with "
        "Retry-After.",
    )
    max_client_buffered_share: float = Field(
        0.25,
        gt=0,
        le=1,
        description="The share of max_buffered_bytes one client address may hold at once; "
        "a request past it is 503 with Retry-After. Behind a proxy that hides client "
        "addresses (every connection from its address), set 1.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated networks (CIDR) of the load balancer in front of the "
        "edge. A connection from one of them names its client in the last entry of "
        "X-Forwarded-For, which the load balancer appends: that address is the client's "
        "(what the vault paces tokenising by, and the logs name); without a readable one "
        "the request is refused 400. Empty: every client is its socket's address, and a "
        "client's own X-Forwarded-For is never read.",
    )
    js_dir: Path = Field(
        Path("js-sdk/dist"),
        description="Directory whose files the JS host serves (relative to the working "
        "directory); absent, every path is 404.",
    )
    api_origins: HostList = Field(
        [],
        description="Origins the JS host's HTML may connect to (its CSP connect-src); "
        "empty: http://<api host>:<port> for each API host.",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port of the Prometheus metrics listener (GET /metrics, on `host`); "
        "unset: no listener. Never on the public port.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes serving the port (SO_REUSEPORT; the kernel spreads "
        "connections over them): one per core. With more than one, worker i serves its "
        "metrics on metrics_port + i.",
    )
    reuse_port: bool = Field(
        False,
        description="Listen with SO_REUSEPORT. Set for each worker that `workers` starts; "
        "only processes of the same user can share the port.",
    )
    worker_of: int | None = Field(
        None,
        description="Set for each worker that `workers` starts: its parent's pid. A worker "
        "whose parent is gone (killed, not stopped) stops too, within a second.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Level of the edge's log on stderr."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        proxy_networks(value)  # each a network, or refused at start with its value
        return value

    @field_validator("api_hosts", "js_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value: Any) -> Any:
        return _host_list(value)

    @field_validator(
        "context_words",
        "context_field_words",
        "context_field_names",
        "context_other_words",
        mode="before",
    )
    @classmethod
    def _parse_words(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        return [str(item).strip().lower() for item in value if str(item).strip()]

    def rules(self) -> Rules:
        """The detector's context rules for this deployment."""
        return Rules(
            context_words=frozenset(self.context_words),
            field_words=frozenset(self.context_field_words),
            field_names=frozenset(self.context_field_names),
            grouping=self.grouping,
            other_words=frozenset(self.context_other_words),
        )

    @field_validator("api_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        return [str(item).strip().rstrip("/") for item in value if str(item).strip()]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("vault_url", "router_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        return value.rstrip("/")

    @field_validator("vault_credential")
    @classmethod
    def _check_credential(cls, value: SecretStr | None) -> SecretStr | None:
        text = value.get_secret_value() if value is not None else ""
        if value is not None and not (
            len(text) >= 16 and text.isascii() and text.isprintable() and not set(" ,") & set(text)
        ):
            # Never the value in the message: it is a secret.
            raise ValueError("must be 16 or more visible ASCII characters, no comma")
        return value

    @model_validator(mode="after")
    def _hosts_are_distinct(self) -> Self:
        # Loud at start, not a guess per request: a host cannot be both API and JS.
        if not self.api_hosts:
            raise ValueError("api_hosts must name at least one host")
        shared = set(self.api_hosts) & set(self.js_hosts)
        if shared:
            raise ValueError(f"hosts both API and JS: {sorted(shared)}")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if self.metrics_port is not None and self.metrics_port + self.workers - 1 > 65535:
            raise ValueError("metrics_port + workers - 1 must be a port number")
        for origin in self.api_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
                raise ValueError(f"api_origins: not an origin: {origin!r}")
        if not self.api_origins:
            # Frozen: set through the back door, once, while validating.
            default = [f"http://{host}:{self.port}" for host in self.api_hosts]
            object.__setattr__(self, "api_origins", default)
        return self
