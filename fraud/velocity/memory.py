"""Velocity in this process: the embedded default, for one fraud process only."""

from __future__ import annotations

import threading

from fraud.velocity import CAP, MAX_AGE_MS, WINDOWS_MS, Observation, attribute_names


class MemoryVelocity:
    """The same semantics as observe.lua, over dictionaries under one lock."""

    def __init__(self, cap: int = CAP) -> None:
        self._cap = cap
        self._lock = threading.Lock()
        # charge -> its first sighting's time and answer
        self._seen: dict[tuple[str, str], tuple[int, dict[str, int]]] = {}
        self._sets: dict[str, dict[str, int]] = {}
        self._observed = 0

    def _expire(self, now: int) -> None:
        """What Redis's key expiry does: forget charges and sets quiet for max_age."""
        cutoff = now - MAX_AGE_MS
        for charge in [c for c, (at, _) in self._seen.items() if at < cutoff]:
            del self._seen[charge]
        for key in [
            k for k, members in self._sets.items() if max(members.values(), default=0) < cutoff
        ]:
            del self._sets[key]

    def _trim(self, key: str, at: int) -> dict[str, int]:
        members = self._sets.setdefault(key, {})
        for member in [m for m, score in members.items() if score <= at - MAX_AGE_MS]:
            del members[member]
        if len(members) > self._cap:
            oldest = sorted(members.items(), key=lambda item: (item[1], item[0]))
            for member, _ in oldest[: len(members) - self._cap]:
                del members[member]
        return members

    def observe(self, observation: Observation) -> dict[str, int]:
        present = observation.present()
        subjects = observation.subjects
        with self._lock:
            self._observed += 1
            if self._observed % 4096 == 0:
                self._expire(observation.at_ms)
            charge = (observation.scope, observation.charge_id)
            if (first := self._seen.get(charge)) is not None:
                return dict(first[1])  # a retry: the first sighting's answer, as it was
            # As observe.lua: the order of the calls under the lock decides what a charge
            # counts (those present, their clocks ahead of its own included), and it is
            # recorded at its own clock.
            at, amount = observation.at_ms, observation.amount
            me = f"{observation.charge_id}|{amount}"
            values: list[int] = []
            for subject in present:
                key = f"{observation.scope}:{subject}:{subjects[subject]}"
                self._sets.setdefault(key, {}).setdefault(me, at)
                counts = dict.fromkeys(WINDOWS_MS.values(), 0)
                sums = dict.fromkeys(WINDOWS_MS.values(), 0)
                for member, score in self._trim(key, at).items():
                    if member != me:
                        value = int(member.rpartition("|")[2])
                        for window in WINDOWS_MS.values():
                            if at - window < score:
                                counts[window] += 1
                                sums[window] += value
                values += counts.values()
                values += sums.values()
            card = subjects.get("card") or ""
            for subject in present:
                if subject == "card":
                    continue
                key = f"{observation.scope}:cards:{subject}:{subjects[subject]}"
                members = self._sets.setdefault(key, {})
                members[card] = max(members.get(card, at), at)
                values.append(len(self._trim(key, at)))
            blocks = self._sets.get(f"{observation.scope}:blocks:{card}", {})
            for window in (WINDOWS_MS["1h"], WINDOWS_MS["24h"]):
                values.append(sum(1 for s in blocks.values() if at - window < s))
            answer = dict(zip(attribute_names(present), values, strict=True))
            self._seen[charge] = (at, answer)
        return dict(answer)

    def record_block(self, scope: str, card: str, charge_id: str, at_ms: int) -> None:
        with self._lock:
            self._sets.setdefault(f"{scope}:blocks:{card}", {}).setdefault(charge_id, at_ms)

    # No I/O here: the loop runs them as they are (the lock is only ever held briefly).

    async def observe_async(self, observation: Observation) -> dict[str, int]:
        return self.observe(observation)

    async def record_block_async(self, scope: str, card: str, charge_id: str, at_ms: int) -> None:
        self.record_block(scope, card, charge_id, at_ms)
