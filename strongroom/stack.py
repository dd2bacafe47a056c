"""The local stack: which processes, on which ports, with which settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from strongroom.devkeys import DevSecrets

if TYPE_CHECKING:
    from strongroom.marketplaces import MarketplaceKeys

# The repository the stack runs from: the demo shop's package and the built JS bundle
# (`make install` builds it; the edge serves it on the js host).
REPO_ROOT = Path(__file__).resolve().parents[1]
JS_DIR = REPO_ROOT / "js-sdk" / "dist"


@dataclass(frozen=True)
class Ports:
    edge: int = 8080
    router: int = 8081
    api_test: int = 8082
    api_live: int = 8083
    vault: int = 8084
    fraud: int = 8085
    network: int = 8086
    merchant: int = 8000


# `strongroom up --metrics`: each service's /metrics on its own port plus this (router
# 9081, api-test 9082, api-live 9083, vault 9084, fraud 9085, card network 9086), the
# edge's on its port plus EDGE_METRICS_OFFSET (9180; worker i of --edge-workers on 9180+i).
METRICS_OFFSET = 1000
EDGE_METRICS_OFFSET = 1100
# Service name -> its field of Ports.
PORT_OF = {
    "edge": "edge",
    "router": "router",
    "api-test": "api_test",
    "api-live": "api_live",
    "vault": "vault",
    "fraud": "fraud",
    "card_network": "network",
}


def default_metrics_ports(ports: Ports) -> dict[str, int]:
    """The metrics port of each service for `strongroom up --metrics`."""
    return {
        name: getattr(ports, field) + (EDGE_METRICS_OFFSET if name == "edge" else METRICS_OFFSET)
        for name, field in PORT_OF.items()
    }


@dataclass(frozen=True)
class Options:
    """What `strongroom up` may change; the defaults need no outside service."""

    data_dir: Path
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    vault_database_url: str | None = None
    api_test_database_url: str | None = None
    api_live_database_url: str | None = None
    fraud_counters_url: str = "memory"
    fraud_database_url: str | None = None  # rules, lists, decisions; default SQLite
    # Each API stack is scaled on its own; the test stack runs at the idle CPU priority,
    # so that a flood of test traffic yields the CPU to live traffic.
    api_test_workers: int = 1
    api_live_workers: int = 1
    api_test_priority: str = "idle"
    edge_workers: int = 1
    # Test requests the router lets through a second, per API key and in all (0: no limit).
    router_test_rate_per_key: float = 25.0
    router_test_rate: float = 100.0
    # Service name (PORT_OF) -> the internal port of its GET /metrics; None: no listeners.
    metrics_ports: dict[str, int] | None = None
    # CAs the API stacks trust for webhook destinations instead of the public roots: a
    # live endpoint must be https://, so a local live receiver has a certificate of these.
    webhook_ca_file: Path | None = None


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    port: int
    env: dict[str, str]

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}"


def services(opts: Options, keys: DevSecrets, shop: MarketplaceKeys | None = None) -> list[Service]:
    """Every process of the stack, in the order they start (dependencies first); with
    `shop`, the demo merchant too, using that marketplace's test keys."""
    p, h, data = opts.ports, opts.host, str(opts.data_dir.resolve())

    def url(port: int) -> str:
        return f"http://{h}:{port}"

    def api(
        mode: str, port: int, db: str | None, vault_cred: str, fraud_cred: str, hs: str
    ) -> Service:
        test = mode == "test"
        env = {
            "API_MODE": mode,
            "API_HOST": h,
            "API_PORT": str(port),
            "API_DATA_DIR": data,
            "API_KEY_HASH_SECRET": hs,
            "API_VAULT_URL": url(p.vault),
            "API_VAULT_CREDENTIAL": vault_cred,
            "API_FRAUD_URL": url(p.fraud),
            "API_FRAUD_CREDENTIAL": fraud_cred,
            "API_WORKERS": str(opts.api_test_workers if test else opts.api_live_workers),
            "API_CPU_PRIORITY": opts.api_test_priority if test else "normal",
            # The local stack's webhooks go to local servers (the demo shop, tests).
            "API_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        }
        if db:
            env["API_DATABASE_URL"] = db
        if opts.webhook_ca_file:
            env["API_WEBHOOK_CA_FILE"] = str(opts.webhook_ca_file.resolve())
        if keys.api_admin_credential:
            env["API_ADMIN_CREDENTIAL"] = keys.api_admin_credential
        return Service(f"api-{mode}", "api", port, env)

    vault_env = {
        "VAULT_HOST": h,
        "VAULT_PORT": str(p.vault),
        "VAULT_DATA_DIR": data,
        "VAULT_TEST_CREDENTIAL": keys.vault_test_credential,
        "VAULT_LIVE_CREDENTIAL": keys.vault_live_credential,
        "VAULT_FRAUD_PUBLIC_KEY": keys.fraud_public_key,
        "VAULT_FINGERPRINT_KEY": keys.vault_fingerprint_key,
        "VAULT_KEY_HASH_SECRET": keys.vault_key_hash_secret,
        "VAULT_NETWORK_URL": url(p.network),
        "VAULT_NETWORK_CREDENTIAL": keys.network_credential,
        # The edge reaches the vault from this host, which any local process shares: its
        # X-Forwarded-For is believed only with its credential too (docs/vault.md, "Pacing").
        "VAULT_TRUSTED_PROXIES": h,
        "VAULT_EDGE_CREDENTIAL": keys.edge_vault_credential,
    }
    if opts.vault_database_url:
        vault_env["VAULT_DATABASE_URL"] = opts.vault_database_url
    fraud_env = {
        "FRAUD_HOST": h,
        "FRAUD_PORT": str(p.fraud),
        "FRAUD_TEST_CREDENTIAL": keys.fraud_test_credential,
        "FRAUD_LIVE_CREDENTIAL": keys.fraud_live_credential,
        "FRAUD_SIGNING_KEY": keys.fraud_signing_key,
        "FRAUD_COUNTERS_URL": opts.fraud_counters_url,
        "FRAUD_DATA_DIR": data,
    }
    if opts.fraud_database_url:
        fraud_env["FRAUD_DATABASE_URL"] = opts.fraud_database_url
    if keys.operator_public_key:
        vault_env["VAULT_OPERATOR_PUBLIC_KEY"] = keys.operator_public_key
    listed = [
        Service(
            "card_network",
            "card_network",
            p.network,
            {
                "NETWORK_HOST": h,
                "NETWORK_PORT": str(p.network),
                "NETWORK_CREDENTIAL": keys.network_credential,
                "NETWORK_DATA_DIR": data,
            },
        ),
        Service("vault", "vault", p.vault, vault_env),
        Service("fraud", "fraud", p.fraud, fraud_env),
        api(
            "test",
            p.api_test,
            opts.api_test_database_url,
            keys.vault_test_credential,
            keys.fraud_test_credential,
            keys.api_test_key_hash_secret,
        ),
        api(
            "live",
            p.api_live,
            opts.api_live_database_url,
            keys.vault_live_credential,
            keys.fraud_live_credential,
            keys.api_live_key_hash_secret,
        ),
        Service(
            "router",
            "router",
            p.router,
            {
                "ROUTER_HOST": h,
                "ROUTER_PORT": str(p.router),
                "ROUTER_TEST_URL": url(p.api_test),
                "ROUTER_LIVE_URL": url(p.api_live),
                "ROUTER_TEST_MAX_RATE_PER_KEY": str(opts.router_test_rate_per_key),
                "ROUTER_TEST_MAX_RATE": str(opts.router_test_rate),
            },
        ),
        Service(
            "edge",
            "edge_proxy",
            p.edge,
            {
                "EDGE_HOST": h,
                "EDGE_PORT": str(p.edge),
                "EDGE_VAULT_URL": url(p.vault),
                "EDGE_VAULT_CREDENTIAL": keys.edge_vault_credential,
                "EDGE_ROUTER_URL": url(p.router),
                "EDGE_JS_DIR": str(JS_DIR),
                "EDGE_WORKERS": str(opts.edge_workers),
            },
        ),
    ]
    if opts.metrics_ports:
        listed = [with_metrics(service, opts.metrics_ports) for service in listed]
    return [*listed, *([merchant(opts, shop)] if shop else [])]


def with_metrics(service: Service, ports: dict[str, int]) -> Service:
    """`service` with its *_METRICS_PORT set (the prefix of its other variables)."""
    prefix = next(iter(service.env)).split("_", 1)[0]
    env = {**service.env, f"{prefix}_METRICS_PORT": str(ports[service.name])}
    return Service(service.name, service.module, service.port, env)


def merchant(opts: Options, shop: MarketplaceKeys) -> Service:
    """The demo shop, outside every zone: it reaches Strongroom through the edge alone."""
    edge = opts.ports.edge
    env = {
        "MERCHANT_HOST": opts.host,
        "MERCHANT_PORT": str(opts.ports.merchant),
        "MERCHANT_EDGE_URL": f"http://{opts.host}:{edge}",
        # The names a browser uses; *.localhost is loopback in every current browser.
        "MERCHANT_API_URL": f"http://api.localhost:{edge}",
        "MERCHANT_JS_URL": f"http://js.localhost:{edge}",
        "MERCHANT_PK_TEST": shop.pk_test,
        "MERCHANT_SK_TEST": shop.sk_test,
    }
    return Service("merchant", "merchant_demo", opts.ports.merchant, env)


def settings_kwargs(env: dict[str, str], prefix: str) -> dict[str, str]:
    """A service's environment as keyword arguments for its Settings class."""
    return {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
