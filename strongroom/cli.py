"""The `strongroom` command: run the stack, run a checkout, manage marketplaces."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import click
import httpx

from strongroom import demo as demo_script
from strongroom.audit_cli import audit_group
from strongroom.backup import sweep_abandoned
from strongroom.backup_cli import backup_command, restore_command
from strongroom.datadir import (
    RECORDED,
    data_dir_option,
    database_options,
    is_data_dir,
    record,
    recorded,
    require_data_dir,
    secrets_of,
)
from strongroom.datadir import init as init_data_dir
from strongroom.devkeys import DevSecrets
from strongroom.fraud_cli import fraud_group
from strongroom.lifecycle import running, stack_status, stop_up
from strongroom.marketplace_cli import marketplace_group, print_keys
from strongroom.marketplaces import MarketplaceKeys, dev_marketplace_keys, register_dev_marketplace
from strongroom.stack import Options, Ports, default_metrics_ports, services
from strongroom.supervisor import StartupError, Supervisor
from strongroom.vault_cli import vault_group
from strongroom.webhook_cli import listen, trigger

PORT_DEFAULTS = Ports()
PORT_NAMES = tuple(f.name for f in fields(Ports))


def counters_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or value == "memory" or value.startswith(("redis://", "rediss://")):
        return value
    raise click.BadParameter("'memory' or a redis:// URL")


def stack_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options of the commands that start the stack; each unset one is taken as recorded."""
    decorators: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        data_dir_option,
        click.option("--host", help=f"Address to listen on. {RECORDED} 127.0.0.1."),
        *[
            click.option(
                f"--{name.replace('_', '-')}-port",
                name + "_port",
                type=click.IntRange(1, 65535),
                help=f"Port of the {name.replace('_', ' ')} process. "
                f"{RECORDED} {getattr(PORT_DEFAULTS, name)}.",
            )
            for name in PORT_NAMES
        ],
        click.option(
            "--port-base",
            type=click.IntRange(1024, 65535 - len(PORT_NAMES)),
            help="Every process on consecutive ports from this one, in the order of the port "
            "options above (edge N, router N+1, …, demo shop N+7); a --…-port given wins.",
        ),
        database_options,
        click.option(
            "--fraud-counters-url",
            envvar="STRONGROOM_FRAUD_COUNTERS_URL",
            show_envvar=True,
            callback=counters_url,
            help=f"'memory' or a redis:// URL. {RECORDED} memory.",
        ),
        click.option(
            "--fraud-database-url",
            envvar="STRONGROOM_FRAUD_DATABASE_URL",
            help="Fraud rules, lists and decisions (default: SQLite).",
        ),
        *[
            click.option(flag, type=click.IntRange(1, 64), help=f"{text} {RECORDED} 1.")
            for flag, text in (
                ("--api-test-workers", "Processes serving the test stack."),
                ("--api-live-workers", "Processes serving the live stack."),
                ("--edge-workers", "Edge processes sharing its port (one per core in production)."),
            )
        ],
        click.option(
            "--api-test-priority",
            type=click.Choice(["normal", "low", "idle"]),
            help="CPU priority of the test stack (low: nice 10; idle: SCHED_IDLE). "
            f"{RECORDED} idle.",
        ),
        click.option(
            "--router-test-rate",
            type=click.FloatRange(0),
            help="Test-mode requests a second per API key the router lets through (0: any). "
            f"{RECORDED} 25.",
        ),
        click.option(
            "--metrics/--no-metrics",
            default=None,
            help="Serve each process's Prometheus GET /metrics on an internal port: its own "
            "port + 1000 (router 9081, … card network 9086), the edge's + 1100 (9180, worker i "
            f"on 9180 + i). {RECORDED} off.",
        ),
        click.option(
            "--router-test-total-rate",
            type=click.FloatRange(0),
            help="Test-mode requests a second in all the router lets through (0: any). "
            f"{RECORDED} 100.",
        ),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


# Option name -> Options field, for the options that are not ports.
_FIELDS = {
    "host": "host",
    "vault_database_url": "vault_database_url",
    "api_test_database_url": "api_test_database_url",
    "api_live_database_url": "api_live_database_url",
    "fraud_counters_url": "fraud_counters_url",
    "fraud_database_url": "fraud_database_url",
    "api_test_workers": "api_test_workers",
    "api_live_workers": "api_live_workers",
    "edge_workers": "edge_workers",
    "api_test_priority": "api_test_priority",
    "router_test_rate": "router_test_rate_per_key",
    "router_test_total_rate": "router_test_rate",
}


def options_from(kw: dict[str, Any]) -> Options:
    """The options given (or set by environment), over those recorded in the data dir."""
    base = recorded(kw["data_dir"])
    base_port = kw.get("port_base")
    ports = {n: base_port + i for i, n in enumerate(PORT_NAMES)} if base_port else {}
    ports |= {n: kw[f"{n}_port"] for n in PORT_NAMES if kw.get(f"{n}_port") is not None}
    given = {field: kw[name] for name, field in _FIELDS.items() if kw.get(name) is not None}
    opts = replace(base, ports=replace(base.ports, **ports), **given)
    if kw.get("metrics") is not None:
        metrics = default_metrics_ports(opts.ports) if kw["metrics"] else None
        opts = replace(opts, metrics_ports=metrics)
    elif opts.metrics_ports and opts.ports != base.ports:
        opts = replace(opts, metrics_ports=default_metrics_ports(opts.ports))  # they moved
    return opts


class Main(click.Group):
    """The command group; an unexpected error is one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("STRONGROOM_DEBUG"):
                raise
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise click.ClickException(f"{message} (STRONGROOM_DEBUG=1 shows where)") from None


@click.group(cls=Main)
@click.version_option(package_name="strongroom", message="strongroom %(version)s")
def main() -> None:
    """Strongroom: a tokenising card vault with a filtering edge proxy.

    Only `up` and `init` make a data dir; every other command refuses a directory that is
    not one. `up` records the stack's settings (ports, database and counters URLs) in the
    data dir, and every later command uses them; the options and STRONGROOM_* variables
    each command lists override them.
    """


@contextmanager
def running_stack(
    opts: Options, secrets_: DevSecrets, shop: MarketplaceKeys
) -> Iterator[Supervisor]:
    """Every process, the demo shop with `shop`'s keys included, until the block ends;
    `shop` is registered (through the admin interfaces) once all are healthy."""
    processes = services(opts, secrets_, shop)
    supervisor = Supervisor(processes, opts.host, opts.data_dir / "logs", click.echo)
    with supervisor:
        try:
            supervisor.start()
        except StartupError as exc:
            raise click.ClickException(str(exc)) from None
        register_dev_marketplace(opts, secrets_, shop)
        yield supervisor


@main.command()
@data_dir_option
def init(data_dir: Path) -> None:
    """Make DATA_DIR a data dir (its secrets, 0600); keep the one already there."""
    existed = is_data_dir(data_dir)
    init_data_dir(data_dir)
    click.echo(f"{data_dir} {'is already' if existed else 'is now'} a Strongroom data dir.")


@main.command()
@stack_options
def up(**kw: Any) -> None:
    """Start every process, wait until all are healthy, and run until Ctrl-C, SIGTERM or
    `strongroom down`.

    Makes the data dir if needed and records the settings in it (DATA_DIR/stack.json):
    an option not given takes the value the last `up` recorded, and every other command
    uses them."""
    opts = options_from(kw)
    secrets_ = init_data_dir(kw["data_dir"])
    keys = dev_marketplace_keys(opts.data_dir)
    for path in sweep_abandoned(opts.data_dir):
        click.echo(f"Removed {path}: a restore was killed before it finished (it held keys).")
    stop = {"signal": 0}

    def on_signal(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    click.echo("Starting Strongroom:")
    with running(opts.data_dir), running_stack(opts, secrets_, keys) as supervisor:
        record(opts)
        edge = f"http://{opts.host}:{opts.ports.edge}"
        click.echo(
            f"\nStrongroom is up. API: {edge} (Host api.localhost). Logs: {opts.data_dir / 'logs'}"
        )
        click.echo(f"Demo shop: http://{opts.host}:{opts.ports.merchant}/")
        if opts.metrics_ports:
            listed = ", ".join(f"{name} {port}" for name, port in opts.metrics_ports.items())
            click.echo(f"Metrics (GET /metrics on {opts.host}): {listed}")
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
    """Run a scripted checkout against the data dir's running stack, or start one for it."""
    secrets_ = secrets_of(kw["data_dir"])
    opts = options_from(kw)
    keys = dev_marketplace_keys(opts.data_dir)
    edge = f"http://{opts.host}:{opts.ports.edge}"

    def checkout() -> list[demo_script.Step]:
        click.echo(f"\nCheckout through the edge at {edge}, marketplace {keys.id}:")
        shop = f"http://{opts.host}:{opts.ports.merchant}"
        return demo_script.run(
            edge, keys, network_reader(opts, secrets_), click.echo, merchant_url=shop
        )

    if edge_healthy(opts):
        click.echo(f"Using the stack already running at {edge}.")
        register_dev_marketplace(opts, secrets_, keys)
        steps = checkout()
    else:
        click.echo("No stack running; starting one:")
        with running(opts.data_dir), running_stack(opts, secrets_, keys):
            record(opts)
            steps = checkout()
    failed = [s for s in steps if not s.ok]
    click.echo(f"\nSummary: {len(steps) - len(failed)} of {len(steps)} checks as expected.")
    for step in failed:
        click.echo(f"  expected {step.name!r} to be {step.expected!r}, got {step.got!r}", err=True)
    if failed:
        raise SystemExit(1)


@main.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(data_dir: Path, as_json: bool) -> None:
    """Which processes of the data dir's stack run and are healthy; exit 1 unless all are."""
    report = stack_status(data_dir, secrets_of(data_dir))
    if as_json:
        click.echo(json.dumps(report))
    else:
        pid = report["pid"]
        click.echo(f"{data_dir}: " + (f"`up` runs as pid {pid}" if pid else "no `up` runs"))
        for name, state in report["services"].items():
            click.echo(f"  {name:<14} {state['url']:<24} {state['status']}")
        keys = report["master_keys"]
        if keys and "split" in keys:
            click.echo(f"  master keys    split among custodians: {keys['split']} unseal")
        elif keys:
            click.echo(
                f"  master keys    version {keys['current']} current, "
                f"{keys['min_version']} oldest usable"
            )
    if not report["healthy"]:
        raise SystemExit(1)


@main.command()
@data_dir_option
@click.option(
    "--timeout", type=click.FloatRange(1), default=60, show_default=True, help="Seconds to wait."
)
def down(data_dir: Path, timeout: float) -> None:
    """Stop the stack `strongroom up` runs from the data dir, and wait until it has."""
    require_data_dir(data_dir)
    try:
        pid = stop_up(data_dir, timeout)
    except TimeoutError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Stopped the stack of {data_dir} (pid {pid})."
        if pid
        else f"No stack runs from {data_dir}."
    )


main.add_command(marketplace_group)
main.add_command(listen)
main.add_command(trigger)
main.add_command(vault_group)
main.add_command(audit_group)
main.add_command(backup_command)
main.add_command(restore_command)
main.add_command(fraud_group)
