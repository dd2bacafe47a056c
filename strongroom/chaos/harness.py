"""A live stack with a fault proxy on every hop, and chaos runs on it, one at a time.

A run tokenises its cards on a clean stack, then arms its scenario: a crash point (the
process is restarted with STRONGROOM_CRASH_AT set, and restarted again each time it
kills itself, armed until it has died `max_crashes` times), or one fault kind on one hop (its proxy
faults a share of the exchanges, drawn from the run's seed). The workload runs; the
scenario is disarmed; the harness waits until nothing is left unfinished (or its
patience ends) and asks the checker about this run's charges alone, so that runs can
share a stack.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

import api.config
import vault.config
from servicekit.crashpoints import VARIABLE
from strongroom.chaos.scenarios import HOPS, Scenario
from strongroom.chaos.workload import Merchant, Tally, intents
from strongroom.checker import Finding, Ledgers, check, counts, load
from strongroom.devkeys import load_or_create
from strongroom.faultproxy import FaultProxy, Plan
from strongroom.marketplaces import (
    MarketplaceKeys,
    dev_marketplace_keys,
    register_dev_marketplace,
)
from strongroom.stack import Options, Ports, services, settings_kwargs
from strongroom.supervisor import StartupError, Supervisor, free_ports

MAX_CRASHES = 2
FAULT_RATE = 0.2
# Settings of the stack under chaos. The API's completer and process lease at a run's
# pace, not production's: a run waits seconds, not minutes, for what a crash left
# unfinished (docs/api.md). The vault's tokenisation pace lifted: the runs tokenise their
# own cards, hundreds a minute from one address, which is no guessing at a card number.
FAST_RECOVERY = {
    "api-live": {
        "API_COMPLETER_INTERVAL_SECONDS": "0.25",
        "API_COMPLETER_STUCK_AFTER_SECONDS": "1",
        "API_LEASE_SECONDS": "1",
    },
    # The tokenising pace (docs/vault.md, "Fingerprints") lifted: the workload tokenises a
    # run's cards in one burst, runs back to back, from one address with one key.
    "vault": {
        "VAULT_TOKENISE_PER_CLIENT_MINUTE": "100000",
        "VAULT_TOKENISE_PER_KEY_MINUTE": "100000",
    },
}


@dataclass
class RunResult:
    seed: int
    scenario: Scenario
    charges: int
    faults: int
    tally: Tally
    findings: list[Finding]

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.findings)

    @property
    def ok(self) -> bool:
        return not self.findings


class ChaosStack:
    """Use as `async with ChaosStack(dir) as stack: await stack.run(seed, scenario, n)`."""

    def __init__(
        self,
        data_dir: Path,
        patience: float = 30.0,
        quiet: float = 30.0,
        max_crashes: int = MAX_CRASHES,
        env: dict[str, dict[str, str]] | None = None,
        fault_rate: float = FAULT_RATE,
        databases: tuple[str, str, str] | None = None,
    ) -> None:
        self._dir = data_dir
        self._databases = databases  # (vault, api-test, api-live) URLs; None: SQLite files
        self._fault_rate = fault_rate
        self._env = env or {}  # settings added to a service's own, by service name
        self._max_crashes = max_crashes
        self._patience = patience  # how long the merchant retries a lost answer
        self._quiet = quiet  # how long a run waits for unfinished work to finish
        self._proxies: dict[str, FaultProxy] = {}
        self._fault_log: TextIO | None = None
        self._supervisor: Supervisor | None = None

    async def __aenter__(self) -> ChaosStack:
        ports = Ports(*free_ports(7))
        vault_db, api_test_db, api_live_db = self._databases or (None, None, None)
        opts = Options(
            data_dir=self._dir,
            ports=ports,
            api_test_priority="normal",
            router_test_rate_per_key=0,
            router_test_rate=0,
            vault_database_url=vault_db,
            api_test_database_url=api_test_db,
            api_live_database_url=api_live_db,
        )
        keys = load_or_create(self._dir)
        self._keys = dev_marketplace_keys(self._dir)
        stack = {s.name: s for s in services(opts, keys)}
        for name, extra in FAST_RECOVERY.items():
            stack[name].env.update(extra)
        for name, extra in self._env.items():
            stack[name].env.update(extra)
        self._fault_log = (self._dir / "faults.jsonl").open("a", encoding="utf-8")
        for (hop, (client, setting, upstream)), port in zip(
            HOPS.items(), free_ports(len(HOPS)), strict=True
        ):
            stack[client].env[setting] = f"http://127.0.0.1:{port}"
            proxy = FaultProxy(
                hop, port, ("127.0.0.1", stack[upstream].port), Plan(rate=0), 0, self._fault_log
            )
            await proxy.start()
            self._proxies[hop] = proxy
        self._edge = f"http://127.0.0.1:{ports.edge}"
        api_env = settings_kwargs(stack["api-live"].env, "API_")
        self._api_url = api.config.Settings.model_validate(api_env).resolved_database_url()
        vault_env = settings_kwargs(stack["vault"].env, "VAULT_")
        vault_settings = vault.config.Settings.model_validate(vault_env)
        self._vault_url, self._audit_path = vault_settings.db_url, vault_settings.audit_path
        self._record = self._dir / "card_network" / "messages.jsonl"
        self._supervisor = Supervisor(list(stack.values()), opts.host, self._dir / "logs")
        await asyncio.to_thread(self._supervisor.start)
        try:
            await asyncio.to_thread(register_dev_marketplace, opts, keys, self._keys)
        except BaseException:
            await self.__aexit__(None, None, None)  # not called when __aenter__ fails
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._supervisor is not None:
            await asyncio.to_thread(self._supervisor.stop)
        for proxy in self._proxies.values():
            await proxy.close()
        if self._fault_log is not None:
            self._fault_log.close()

    @property
    def supervisor(self) -> Supervisor:
        assert self._supervisor is not None, "use ChaosStack in `async with`"
        return self._supervisor

    async def run(
        self,
        seed: int,
        scenario: Scenario,
        charges: int,
        rate: float | None = None,
        patience: float | None = None,
    ) -> RunResult:
        """One run: `charges` intents of the seed's workload under `scenario`; a fault
        scenario faults `rate` of its hop's exchanges (the stack's rate if None), and the
        merchant retries a lost answer for `patience` seconds (the stack's if None)."""
        run = f"s{seed}-{secrets.token_hex(3)}"
        keys, waits = self._keys, self._patience if patience is None else patience
        merchant = Merchant(self._edge, keys.pk_live, keys.sk_live, run, waits)
        todo = intents(run, seed, charges)
        # A process an earlier run left dead (an armed API can die in its housekeeping,
        # finishing an old charge) is started again first.
        for name in self.supervisor.dead():
            await self._restart(name, None)
        crashes = 0
        if scenario.kind == "crash":
            crashes = await self._restart(scenario.process, {VARIABLE: scenario.target})
        tokens = await merchant.tokenise(charges)
        await merchant.settle_in(tokens[0])
        if scenario.kind == "crash":
            faults = await self._crashing(scenario, merchant.run(todo, tokens), crashes)
        else:
            proxy = self._proxies[scenario.target]
            before = proxy.faults[scenario.kind]
            rate = self._fault_rate if rate is None else rate
            proxy.set_plan(Plan(rate=rate, kinds=(scenario.kind,)), seed)
            try:
                await merchant.run(todo, tokens)
            finally:
                proxy.set_plan(Plan(rate=0))
            faults = proxy.faults[scenario.kind] - before
        findings = await self._settled_findings(run, merchant.tally.indeterminate)
        return RunResult(seed, scenario, charges, faults, merchant.tally, findings)

    async def _restart(self, name: str, env: dict[str, str] | None) -> int:
        """Start `name` again (with `env`); how many times it killed itself on the way
        (an armed API can reach its point in its first housekeeping pass)."""
        crashes = 0
        while True:
            try:
                await asyncio.to_thread(self.supervisor.restart, name, env)
                return crashes
            except StartupError:
                crashes += 1
                env = env if crashes < self._max_crashes else None

    async def _crashing(
        self, scenario: Scenario, work: Coroutine[None, None, None], crashes: int
    ) -> int:
        """Run `work` with the crash point armed, restarting the process each time it
        dies (armed again until `max_crashes` deaths, counting the `crashes` so far);
        how many times it died."""
        name, armed = scenario.process, {VARIABLE: scenario.target}
        task = asyncio.ensure_future(work)
        try:
            while True:
                await asyncio.wait({task}, timeout=0.1)
                if name in self.supervisor.dead():
                    crashes += 1
                    again = armed if crashes < self._max_crashes else None
                    crashes += await self._restart(name, again)
                elif task.done():
                    break
            await task
        finally:
            if crashes < self._max_crashes:  # still armed: disarmed for whatever follows
                await self._restart(name, None)
        return crashes

    async def _settled_findings(self, run: str, indeterminate: list[str]) -> list[Finding]:
        """The checker's findings once nothing of the run is unfinished, or the last ones
        when the harness's patience for that ends."""
        deadline = time.monotonic() + self._quiet
        while True:
            findings = await asyncio.to_thread(self._check, run, indeterminate)
            if time.monotonic() > deadline or not any(f.kind == "stuck" for f in findings):
                return findings
            await asyncio.sleep(0.5)

    def _check(self, run: str, indeterminate: list[str]) -> list[Finding]:
        ledgers = self.ledgers(run)
        ledgers.indeterminate = indeterminate
        return check(ledgers)

    def ledgers(self, run: str) -> Ledgers:
        """The checker's records of run `run`: the API's, the vault's, the network's."""
        return load(self._api_url, self._record, self._vault_url, self._audit_path, run)

    @property
    def edge(self) -> str:
        return self._edge

    @property
    def keys(self) -> MarketplaceKeys:
        return self._keys

    def merchant(self, run: str, patience: float) -> Merchant:
        """A live merchant of the stack's marketplace, its intents tagged with `run`."""
        return Merchant(self._edge, self._keys.pk_live, self._keys.sk_live, run, patience)
