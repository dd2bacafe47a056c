"""What a chaos run breaks: the seed picks one scenario, in a fixed cycle over all."""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.crashpoints import POINTS
from strongroom.faultproxy import KINDS

# The hops a fault proxy sits on, by the service whose setting names the upstream: the
# setting, and the service (of strongroom.stack.services) the hop leads to.
HOPS: dict[str, tuple[str, str, str]] = {
    "edge>router": ("edge", "EDGE_ROUTER_URL", "router"),
    "router>api": ("router", "ROUTER_LIVE_URL", "api-live"),
    "api>fraud": ("api-live", "API_FRAUD_URL", "fraud"),
    "api>vault": ("api-live", "API_VAULT_URL", "vault"),
    "vault>network": ("vault", "VAULT_NETWORK_URL", "card_network"),
}
# The processes of the stack a crash point's service names (the live API stack only:
# the workload is live).
PROCESS = {"api": "api-live", "vault": "vault"}


@dataclass(frozen=True)
class Scenario:
    kind: str  # "crash", or a fault proxy's kind
    target: str  # "<service>:<point>:<when>" for a crash, a hop's name for a fault

    @property
    def name(self) -> str:
        return f"{self.kind} {self.target}"

    @property
    def process(self) -> str:
        """The process a crash scenario kills."""
        return PROCESS[self.target.split(":")[0]]


SCENARIOS: tuple[Scenario, ...] = (
    *(Scenario("crash", ":".join(point)) for point in POINTS),
    *(Scenario(kind, hop) for kind in KINDS for hop in HOPS),
)


def scenario_for(seed: int) -> Scenario:
    """Seeds 0, 1, 2, … go through every scenario in turn, then around again."""
    return SCENARIOS[seed % len(SCENARIOS)]
