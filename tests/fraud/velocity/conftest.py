from collections.abc import Callable

import pytest
import redis
import redis.asyncio

from fraud.velocity import VelocityStore
from fraud.velocity.memory import MemoryVelocity
from fraud.velocity.redis_store import RedisVelocity

MakeStore = Callable[..., VelocityStore]


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> MakeStore:
    """Both stores: every contract test runs in-process and on a real Redis."""
    if request.param == "memory":
        return lambda **kw: MemoryVelocity(**kw)
    url, prefix = request.getfixturevalue("redis_target")
    # With the event loop's client too, as fraud.app opens it (connected on first use).
    return lambda **kw: RedisVelocity(
        redis.Redis.from_url(url), prefix, async_client=redis.asyncio.Redis.from_url(url), **kw
    )
