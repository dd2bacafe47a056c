"""Velocity in Redis, shared by every fraud process: one script call per assessment."""

from __future__ import annotations

from pathlib import Path

import redis

from fraud.velocity import (
    CAP,
    MAX_AGE_MS,
    WINDOWS_MS,
    Observation,
    attribute_names,
    digest,
)

SCRIPT = (Path(__file__).parent / "observe.lua").read_text()


class RedisVelocity:
    def __init__(self, client: redis.Redis, prefix: str, cap: int = CAP) -> None:
        self._client = client
        self._prefix = prefix
        self._cap = cap
        # EVALSHA, falling back to EVAL once if Redis has not seen the script.
        self._script = client.register_script(SCRIPT)
        self._constants = ",".join(map(str, [MAX_AGE_MS, cap, *WINDOWS_MS.values()]))

    def _key(self, scope: str, *parts: str) -> str:
        return self._prefix + scope + ":" + ":".join(parts)

    def observe(self, observation: Observation) -> dict[str, int]:
        scope, present = observation.scope, observation.present()
        subjects = observation.subjects
        hashed = {s: digest(subjects[s] or "") for s in present}
        card = hashed.get("card") or digest("")
        keys = [self._key(scope, "seen", observation.charge_id)]
        keys += [self._key(scope, s, hashed[s]) for s in present]
        keys += [self._key(scope, "cards", s, hashed[s]) for s in present if s != "card"]
        keys.append(self._key(scope, "blocks", card))
        # One argument (observe.lua splits it at commas): a hex digest holds none, and a
        # charge id that did would be misread, so it is refused (the assessment fails closed).
        if "," in observation.charge_id:
            raise ValueError("a charge id holds a comma")
        args = [f"{observation.charge_id},{observation.at_ms},{observation.amount},"]
        args[0] += f"{len(present)},{card},{self._constants}"
        raw = self._script(keys=keys, args=args)
        text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
        return dict(zip(attribute_names(present), map(int, text.split(",")), strict=True))

    def record_block(self, scope: str, card: str, charge_id: str, at_ms: int) -> None:
        key = self._key(scope, "blocks", digest(card))
        pipe = self._client.pipeline(transaction=True)
        pipe.zadd(key, {charge_id: at_ms}, nx=True)  # a retried block counts once
        pipe.zremrangebyscore(key, "-inf", f"({at_ms - MAX_AGE_MS}")
        pipe.pexpire(key, MAX_AGE_MS)
        pipe.execute()
