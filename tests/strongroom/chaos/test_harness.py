"""The short chaos run of the test suite: every crash point once, and a few faults on the
hops where money moves, each on a few live intents, then the checker.

Runs that fail today because recovery is not built yet are marked xfail(strict=True)
with what is missing; once it is built they pass, and the mark has to go.
"""

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from strongroom.chaos.harness import ChaosStack, RunResult
from strongroom.chaos.scenarios import SCENARIOS, Scenario

pytestmark = pytest.mark.e2e
T = TypeVar("T")


class Unsafe(Exception):
    """The checker found money lost, doubled or mismatched, or work left unfinished."""


# What is missing, for each run that fails today.
API_COMPLETER = (
    "no completer re-drives a charge the API left pending: its Idempotency-Key stays "
    "locked 90 s and reconcile waits 5 minutes"
)
LOST_CONNECTION = (
    "a vault connection lost mid-request leaves the API charge pending (VaultTimeout) "
    "with nothing to finish it"
)
FAILING_TODAY = {
    "api:started:before": (
        "a crash leaves the request's Idempotency-Key claimed for 90 s: every retry is "
        "refused in flight, and no charge ever shows for the intent"
    ),
    "api:started:after": API_COMPLETER,
    "api:vault_called:before": API_COMPLETER,
    "api:vault_called:after": API_COMPLETER,
    "api:captured:after": API_COMPLETER,
    "api:recorded:before": API_COMPLETER,
    "drop_answer api>vault": LOST_CONNECTION,
}
# Whether the crash or the dropped answer lands while the API still waits for the answer
# depends on timing: the API's resend on a fresh connection then finishes the charge.
# Non-strict until the completer exists; make them strict again with it.
SOMETIMES_FAILING = {"drop_answer api>vault"}
FAULTS = [
    Scenario(kind, hop)
    for kind, hop in [
        ("latency", "api>vault"),
        ("reset", "api>vault"),
        ("drop_answer", "api>vault"),
        ("truncate", "api>vault"),
        ("duplicate", "api>vault"),
        ("drop_answer", "vault>network"),
        ("duplicate", "vault>network"),
        ("duplicate", "router>api"),
        ("drop_answer", "edge>router"),
    ]
]
CASES = [s for s in SCENARIOS if s.kind == "crash"] + FAULTS


class Loop:
    """An event loop in a thread, where the stack's fault proxies keep serving."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 240) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Loop, ChaosStack]]:
    loop = Loop()
    # One crash per run, and no API housekeeping: its reconcile cannot finish this run's
    # charges within the test's seconds (it waits 5 minutes), and on earlier runs' charges
    # it would trip the armed point in place of the run's own.
    stack = ChaosStack(
        tmp_path_factory.mktemp("chaos"),
        patience=4,
        quiet=3,
        max_crashes=1,
        fault_rate=0.5,
        env={"api-live": {"API_WEBHOOK_WORKER": "false"}},
    )
    loop.run(stack.__aenter__())
    try:
        yield loop, stack
    finally:
        loop.run(stack.__aexit__(None, None, None))
        loop.close()


def case(scenario: Scenario) -> Any:
    key = scenario.target if scenario.kind == "crash" else scenario.name
    reason = FAILING_TODAY.get(key)
    strict = key not in SOMETIMES_FAILING
    marks = [pytest.mark.xfail(strict=strict, raises=Unsafe, reason=reason)] if reason else []
    return pytest.param(scenario, marks=marks, id=scenario.name.replace(" ", "-"))


@pytest.mark.parametrize("scenario", [case(s) for s in CASES])
def test_no_charge_is_lost_doubled_or_left_unfinished(
    chaos: tuple[Loop, ChaosStack], scenario: Scenario
) -> None:
    loop, stack = chaos
    result: RunResult = loop.run(stack.run(CASES.index(scenario), scenario, charges=3))
    assert result.faults >= 1, f"{scenario.name} was never reached"
    if result.findings:
        raise Unsafe("\n".join(map(str, result.findings)))
