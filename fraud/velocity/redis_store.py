"""Velocity in Redis, shared by every fraud process: one script call per assessment."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import redis
import redis.asyncio

from fraud.velocity import (
    CAP,
    MAX_AGE_MS,
    SUBJECTS,
    WINDOWS_MS,
    Observation,
    attribute_names,
    digest,
)

SCRIPT = (Path(__file__).parent / "observe.lua").read_text()


@functools.lru_cache(maxsize=16)  # a mask of the four subjects
def _names(mask: int) -> tuple[str, ...]:
    """The attributes of an answer counted under the subjects of this bit mask (made once
    a mask: making them was half of reading an answer)."""
    return tuple(attribute_names([s for i, s in enumerate(SUBJECTS) if mask >> i & 1]))


class RedisVelocity:
    """`client` for the calls made in a thread; `async_client`, when given, for those made
    on the event loop (without one they go to a thread with `client`)."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        cap: int = CAP,
        async_client: redis.asyncio.Redis | None = None,
    ) -> None:
        self._client = client
        self._async_client = async_client
        self._prefix = prefix
        self._cap = cap
        # EVALSHA, falling back to EVAL once if Redis has not seen the script.
        self._script = client.register_script(SCRIPT)
        self._async_script = async_client.register_script(SCRIPT) if async_client else None
        self._constants = ",".join(map(str, [MAX_AGE_MS, cap, *WINDOWS_MS.values()]))

    def _key(self, scope: str, *parts: str) -> str:
        return self._prefix + scope + ":" + ":".join(parts)

    def _call(self, observation: Observation) -> tuple[list[str], list[str]]:
        """The script's keys and its one argument for this observation."""
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
        mask = sum(1 << i for i, s in enumerate(SUBJECTS) if s in hashed)
        args = [f"{observation.charge_id},{observation.at_ms},{observation.amount},"]
        args[0] += f"{len(present)},{card},{mask},{self._constants}"
        return keys, args

    @staticmethod
    def _values(raw: object) -> dict[str, int]:
        """The first sighting's answer, "at|amount|subjects|values": named by the subjects
        it was counted under (a retry may carry others), not by the retry's."""
        text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
        _, _, mask, values = text.split("|", 3)
        return dict(zip(_names(int(mask)), map(int, values.split(",")), strict=True))

    def observe(self, observation: Observation) -> dict[str, int]:
        keys, args = self._call(observation)
        return self._values(self._script(keys=keys, args=args))

    async def observe_async(self, observation: Observation) -> dict[str, int]:
        if self._async_script is None:
            return await asyncio.to_thread(self.observe, observation)
        keys, args = self._call(observation)
        return self._values(await self._async_script(keys=keys, args=args))

    def _block(
        self,
        pipe: redis.client.Pipeline | redis.asyncio.client.Pipeline,
        scope: str,
        card: str,
        charge_id: str,
        at_ms: int,
    ) -> None:
        """Queue on `pipe` the commands that remember a block, for either client."""
        key = self._key(scope, "blocks", digest(card))
        pipe.zadd(key, {charge_id: at_ms}, nx=True)  # a retried block counts once
        pipe.zremrangebyscore(key, "-inf", f"({at_ms - MAX_AGE_MS}")
        pipe.pexpire(key, MAX_AGE_MS)

    def record_block(self, scope: str, card: str, charge_id: str, at_ms: int) -> None:
        pipe = self._client.pipeline(transaction=True)
        self._block(pipe, scope, card, charge_id, at_ms)
        pipe.execute()

    async def record_block_async(self, scope: str, card: str, charge_id: str, at_ms: int) -> None:
        if self._async_client is None:
            await asyncio.to_thread(self.record_block, scope, card, charge_id, at_ms)
            return
        async with self._async_client.pipeline(transaction=True) as pipe:
            self._block(pipe, scope, card, charge_id, at_ms)
            await pipe.execute()

    async def aclose(self) -> None:
        """Close the event loop's connections (the lifespan's end)."""
        if self._async_client is not None:
            await self._async_client.aclose()
