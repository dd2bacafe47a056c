"""The `strongroom` command: run the stack, run a checkout, manage marketplaces."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

import click
import httpx

from strongroom import demo as demo_script
from strongroom.devkeys import DevSecrets, load_or_create
from strongroom.fraud_cli import fraud_group
from strongroom.marketplaces import (
    MarketplaceKeys,
    create_marketplace,
    dev_marketplace,
    roll_key,
)
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import StartupError, Supervisor
from strongroom.vault_cli import audit_group, vault_group

PORT_DEFAULTS = Ports()
PORT_NAMES = tuple(f.name for f in fields(Ports))


def stack_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that runs or reaches the stack."""
    decorators = [
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("var"),
            show_default=True,
            help="Where databases, keys and logs live.",
        ),
        click.option(
            "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
        ),
        *[
            click.option(
                f"--{name.replace('_', '-')}-port",
                name + "_port",
                type=click.IntRange(1, 65535),
                default=getattr(PORT_DEFAULTS, name),
                show_default=True,
                help=f"Port of the {name.replace('_', ' ')} process.",
            )
            for name in PORT_NAMES
        ],
        click.option(
            "--vault-database-url",
            envvar="STRONGROOM_VAULT_DATABASE_URL",
            help="Vault database (default: SQLite in the data dir).",
        ),
        click.option(
            "--api-test-database-url",
            envvar="STRONGROOM_API_TEST_DATABASE_URL",
            help="Test stack database (default: SQLite).",
        ),
        click.option(
            "--api-live-database-url",
            envvar="STRONGROOM_API_LIVE_DATABASE_URL",
            help="Live stack database (default: SQLite).",
        ),
        click.option(
            "--fraud-counters-url",
            envvar="STRONGROOM_FRAUD_COUNTERS_URL",
            default="memory",
            show_default=True,
            help="'memory' or a redis:// URL.",
        ),
        click.option(
            "--fraud-database-url",
            envvar="STRONGROOM_FRAUD_DATABASE_URL",
            help="Fraud rules, lists and decisions (default: SQLite).",
        ),
        *[
            click.option(flag, type=click.IntRange(1, 64), default=1, show_default=True, help=text)
            for flag, text in (
                ("--api-test-workers", "Processes serving the test stack."),
                ("--api-live-workers", "Processes serving the live stack."),
                ("--edge-workers", "Edge processes sharing its port (one per core in production)."),
            )
        ],
        click.option(
            "--api-test-priority",
            type=click.Choice(["normal", "low", "idle"]),
            default="idle",
            show_default=True,
            help="CPU priority of the test stack (low: nice 10; idle: SCHED_IDLE).",
        ),
        click.option(
            "--router-test-rate",
            type=click.FloatRange(0),
            default=25.0,
            show_default=True,
            help="Test-mode requests a second per API key the router lets through (0: any).",
        ),
        click.option(
            "--router-test-total-rate",
            type=click.FloatRange(0),
            default=100.0,
            show_default=True,
            help="Test-mode requests a second in all the router lets through (0: any).",
        ),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def options_from(kw: dict[str, Any]) -> Options:
    return Options(
        data_dir=kw["data_dir"],
        host=kw["host"],
        ports=Ports(**{n: kw[n + "_port"] for n in PORT_NAMES}),
        vault_database_url=kw["vault_database_url"],
        api_test_database_url=kw["api_test_database_url"],
        api_live_database_url=kw["api_live_database_url"],
        fraud_counters_url=kw["fraud_counters_url"],
        fraud_database_url=kw["fraud_database_url"],
        api_test_workers=kw["api_test_workers"],
        api_live_workers=kw["api_live_workers"],
        edge_workers=kw["edge_workers"],
        api_test_priority=kw["api_test_priority"],
        router_test_rate_per_key=kw["router_test_rate"],
        router_test_rate=kw["router_test_total_rate"],
    )


@click.group()
def main() -> None:
    """Strongroom: a tokenising card vault with a filtering edge proxy."""


@contextmanager
def running_stack(
    opts: Options, secrets_: DevSecrets, shop: MarketplaceKeys
) -> Iterator[Supervisor]:
    """Every process, the demo shop with `shop`'s keys included, until the block ends."""
    processes = services(opts, secrets_, shop)
    supervisor = Supervisor(processes, opts.host, opts.data_dir / "logs", click.echo)
    with supervisor:
        try:
            supervisor.start()
        except StartupError as exc:
            raise click.ClickException(str(exc)) from None
        yield supervisor


def print_keys(keys: MarketplaceKeys) -> None:
    click.echo(f"  marketplace      {keys.id} ({keys.name})")
    for label in ("pk_test", "sk_test", "pk_live", "sk_live"):
        click.echo(f"  {label:<16} {getattr(keys, label)}")


@main.command()
@stack_options
def up(**kw: Any) -> None:
    """Start every process, wait until all are healthy, and run until Ctrl-C or SIGTERM."""
    opts = options_from(kw)
    secrets_ = load_or_create(opts.data_dir)
    keys = dev_marketplace(opts, secrets_)
    stop = {"signal": 0}

    def on_signal(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    click.echo("Starting Strongroom:")
    with running_stack(opts, secrets_, keys) as supervisor:
        edge = f"http://{opts.host}:{opts.ports.edge}"
        click.echo(
            f"\nStrongroom is up. API: {edge} (Host api.localhost). Logs: {opts.data_dir / 'logs'}"
        )
        click.echo(f"Demo shop: http://{opts.host}:{opts.ports.merchant}/")
        click.echo(f"Try: curl -s {edge}/healthz\nDev keys:")
        print_keys(keys)
        click.echo("Press Ctrl-C to stop.")
        while not stop["signal"]:
            dead = supervisor.dead()
            if dead:
                raise click.ClickException(
                    f"{', '.join(dead)} stopped unexpectedly; stopping all. "
                    f"See {opts.data_dir / 'logs'}."
                )
            time.sleep(0.3)
        click.echo("Stopping…")
    click.echo("Stopped.")


def network_reader(opts: Options, secrets_: DevSecrets) -> Callable[[], list[dict[str, Any]]]:
    def read() -> list[dict[str, Any]]:
        response = httpx.get(
            f"http://{opts.host}:{opts.ports.network}/v1/messages",
            headers={"authorization": f"Bearer {secrets_.network_credential}"},
            timeout=10.0,
        )
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    return read


def edge_healthy(opts: Options) -> bool:
    try:
        return (
            httpx.get(f"http://{opts.host}:{opts.ports.edge}/healthz", timeout=1.0).status_code
            == 200
        )
    except httpx.HTTPError:
        return False


@main.command()
@stack_options
def demo(**kw: Any) -> None:
    """Run a scripted checkout against a running stack, or start one for it."""
    opts = options_from(kw)
    secrets_ = load_or_create(opts.data_dir)
    keys = dev_marketplace(opts, secrets_)
    edge = f"http://{opts.host}:{opts.ports.edge}"

    def checkout() -> list[demo_script.Step]:
        click.echo(f"\nCheckout through the edge at {edge}, marketplace {keys.id}:")
        shop = f"http://{opts.host}:{opts.ports.merchant}"
        return demo_script.run(
            edge, keys, network_reader(opts, secrets_), click.echo, merchant_url=shop
        )

    if edge_healthy(opts):
        click.echo(f"Using the stack already running at {edge}.")
        steps = checkout()
    else:
        click.echo("No stack running; starting one:")
        with running_stack(opts, secrets_, keys):
            steps = checkout()
    failed = [s for s in steps if not s.ok]
    click.echo(f"\nSummary: {len(steps) - len(failed)} of {len(steps)} checks as expected.")
    for step in failed:
        click.echo(f"  expected {step.name!r} to be {step.expected!r}, got {step.got!r}", err=True)
    if failed:
        raise SystemExit(1)


@main.group()
def marketplace() -> None:
    """Marketplaces and their keys."""


@marketplace.command("create")
@click.argument("name")
@stack_options
def marketplace_create(name: str, **kw: Any) -> None:
    """Create a marketplace and print its test and live keys (shown only this once)."""
    if not name.strip() or len(name) > 200:
        raise click.BadParameter("must be 1-200 characters", param_hint="NAME")
    opts = options_from(kw)
    keys = create_marketplace(opts, load_or_create(opts.data_dir), name)
    print_keys(keys)


@marketplace.command("roll-key")
@click.argument("key")
@click.option(
    "--overlap",
    type=click.IntRange(0, 7 * 24 * 3600),
    default=24 * 3600,
    show_default=True,
    help="Seconds the old key keeps working beside the new one (0: stop it now).",
)
@stack_options
def marketplace_roll_key(key: str, overlap: int, **kw: Any) -> None:
    """Replace KEY by a new key of its kind and mode; print the new key (shown only once)."""
    opts = options_from(kw)
    try:
        new_key = roll_key(opts, load_or_create(opts.data_dir), key, overlap)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(new_key)
    click.echo(f"The old key works for {overlap} more seconds.", err=True)


main.add_command(vault_group)
main.add_command(audit_group)
main.add_command(fraud_group)
