"""Velocity in Redis, shared by every fraud process: one script call per assessment."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from pathlib import Path

import redis
import redis.asyncio
from redis.exceptions import NoScriptError

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
SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)


def _packed(*parts: str) -> bytes:
    """One command in Redis's protocol (RESP), its arguments text."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


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
        client = self._async_client
        if client is None:
            return await asyncio.to_thread(self.observe, observation)
        keys, args = self._call(observation)
        command = _packed("EVALSHA", SHA, str(len(keys)), *keys, *args)
        # On a connection of the client's pool, with its retries, but not through its
        # command layer (its packing, its response callbacks, its timing records): a
        # quarter of the call's CPU (100 µs a call where it is 77 µs without).
        connection = await client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            raw = await connection.retry.call_with_retry(
                lambda: self._evalsha(connection, command, keys, args),
                lambda error: connection.disconnect(),
            )
        except BaseException:
            # Failed or cancelled mid-call, a reply may be left unread: not used again.
            await connection.disconnect()
            raise
        finally:
            await client.connection_pool.release(connection)
        return self._values(raw)

    @staticmethod
    async def _evalsha(
        connection: redis.asyncio.connection.AbstractConnection,
        command: bytes,
        keys: list[str],
        args: list[str],
    ) -> object:
        await connection.send_packed_command(command, check_health=False)
        try:
            return await connection.read_response()
        except NoScriptError:  # Redis restarted or flushed its scripts: EVAL caches it
            await connection.send_packed_command(
                _packed("EVAL", SCRIPT, str(len(keys)), *keys, *args), check_health=False
            )
            return await connection.read_response()

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
