"""Velocity: how many charges, and how much money, a card, customer, email or IP has run
lately. One contract, two stores: in this process (dev) and Redis (shared)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

SUBJECTS = ("card", "customer", "email", "ip")
WINDOWS_MS = {"1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000}
MAX_AGE_MS = WINDOWS_MS["7d"]
# Members kept per set; a card charged more than this in a week is blocked long before.
CAP = 10_000


@dataclass(frozen=True)
class Observation:
    """One assessment's sighting of a charge: what velocity counts it under."""

    scope: str  # "<mode>:<marketplace>": no two marketplaces or modes share a counter
    charge_id: str
    at_ms: int
    amount: int  # in US cents, so sums across currencies mean something
    subjects: Mapping[str, str | None] = field(default_factory=dict)  # subject -> value

    def present(self) -> list[str]:
        return [s for s in SUBJECTS if self.subjects.get(s)]


def digest(value: str) -> str:
    """Keys name a hash of the value: no email or IP sits in Redis in the clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def attribute_names(present: Sequence[str]) -> list[str]:
    """The attributes an observation yields, in the order both stores produce them."""
    names = [
        f"{s}_{kind}_{w}" for s in present for kind in ("velocity", "amount") for w in WINDOWS_MS
    ]
    names += [f"distinct_cards_per_{s}_7d" for s in present if s != "card"]
    names += ["card_blocks_1h", "card_blocks_24h"]
    return names


class VelocityStore(Protocol):
    def observe(self, observation: Observation) -> dict[str, int]:
        """Count this charge (once, however often it is retried) and return the
        velocity attributes as of its first sighting."""
        ...

    def record_block(self, scope: str, card: str, charge_id: str, at_ms: int) -> None:
        """Remember that this card's charge was blocked."""
        ...

    # The same two on the event loop: an assessment served over HTTP runs there, not in a
    # worker thread (handing it to one and back cost a sixth of its CPU).

    async def observe_async(self, observation: Observation) -> dict[str, int]:
        """`observe`, awaited."""
        ...

    async def record_block_async(self, scope: str, card: str, charge_id: str, at_ms: int) -> None:
        """`record_block`, awaited."""
        ...
