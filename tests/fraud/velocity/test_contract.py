"""One contract, two stores: in-process and Redis velocity answer alike."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import redis.asyncio

from fraud.velocity import Observation
from fraud.velocity.redis_store import RedisVelocity
from tests.fraud.velocity.conftest import MakeStore

HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_800_000_000_000


def seen(charge: str, at: int, amount: int = 100, **subjects: str) -> Observation:
    return Observation("test:mkt_1", charge, at, amount, {"card": "fp1", **subjects})


def test_a_card_counts_the_charges_before_this_one_by_window(make_store: MakeStore) -> None:
    store = make_store()
    store.observe(seen("ch_1", T0 - 2 * DAY, 1))
    store.observe(seen("ch_2", T0 - 2 * HOUR, 10))
    store.observe(seen("ch_3", T0 - 1, 100))
    values = store.observe(seen("ch_4", T0, 1000))
    assert (
        values["card_velocity_1h"],
        values["card_velocity_24h"],
        values["card_velocity_7d"],
    ) == (
        1,
        2,
        3,
    )
    assert (values["card_amount_1h"], values["card_amount_24h"], values["card_amount_7d"]) == (
        100,
        110,
        111,
    )


def test_a_retried_assessment_counts_once_and_answers_as_the_first(make_store: MakeStore) -> None:
    store = make_store()
    for i in range(3):
        store.observe(seen(f"ch_{i}", T0 + i))
    first = store.observe(seen("ch_x", T0 + 10))
    store.observe(seen("ch_late", T0 + 20))
    again = store.observe(seen("ch_x", T0 + 30, amount=999))
    assert first == again and first["card_velocity_1h"] == 3
    assert store.observe(seen("ch_next", T0 + 40))["card_velocity_1h"] == 5


def test_a_charge_counts_those_recorded_before_it_whatever_its_clock(
    make_store: MakeStore,
) -> None:
    """Two assessments in flight at once reach the store in either order, and two fraud
    processes' clocks disagree: a charge counts those recorded before it, their clocks
    behind or ahead of its own, and is recorded at its own clock."""
    store = make_store()
    store.observe(seen("ch_later_clock", T0 + 10, 10, ip="ip1"))
    behind = store.observe(seen("ch_earlier_clock", T0, 1, ip="ip1"))
    assert (behind["card_velocity_1h"], behind["card_amount_1h"]) == (1, 10)
    assert behind["ip_velocity_1h"] == 1
    assert store.observe(seen("ch_earlier_clock", T0 + 20, 1, ip="ip1")) == behind  # a retry
    # Behind by more than a window: the two ahead of it still count.
    far = store.observe(seen("ch_far_behind", T0 - 2 * HOUR, 100, ip="ip2"))
    assert (far["card_velocity_1h"], far["card_amount_1h"], far["ip_velocity_1h"]) == (2, 11, 0)
    # Kept at its own clock: one on time leaves it out of its hour, not out of its day.
    on_time = store.observe(seen("ch_on_time", T0 + 30, ip="ip1"))
    assert (on_time["card_velocity_1h"], on_time["card_velocity_24h"]) == (2, 3)


def test_a_clock_ahead_moves_no_other_charge(make_store: MakeStore) -> None:
    """A process 3 h ahead sights a charge from an IP; a card seen once from that IP, then
    charged every 65 minutes at the true clock, counts none of its own in the hour."""
    store = make_store()
    ahead = store.observe(Observation("test:mkt_1", "ch_lead", T0 + 3 * HOUR, 7, {"ip": "ip1"}))
    assert ahead["ip_velocity_1h"] == 0
    answers = [store.observe(seen("ch_0", T0, ip="ip1"))]
    answers += [store.observe(seen(f"ch_{i}", T0 + i * 65 * 60_000)) for i in (1, 2)]
    assert [a["card_velocity_1h"] for a in answers] == [0, 0, 0]
    # The one ahead counts in the IP's windows until it is trimmed (its clock is its time).
    assert (answers[0]["ip_velocity_1h"], answers[0]["ip_amount_1h"]) == (1, 7)
    assert store.observe(seen("ch_3", T0 + 3 * HOUR + 1, ip="ip1"))["ip_velocity_1h"] == 1


def test_a_retry_answers_as_the_first_whatever_came_after(make_store: MakeStore) -> None:
    """Blocks, cards and charges recorded after a charge's first sighting, at any clock,
    change nothing in a retry's answer, nor does a retry carrying other subjects."""
    store = make_store()
    store.observe(seen("ch_a", T0, email="e1"))
    first = store.observe(seen("ch_x", T0 + 2, email="e1"))
    assert (first["card_blocks_1h"], first["distinct_cards_per_email_7d"]) == (0, 1)
    store.observe(seen("ch_w", T0 - 5))  # sighted after X, its clock behind X's
    store.record_block("test:mkt_1", "fp1", "ch_w", T0 - 5)
    store.observe(Observation("test:mkt_1", "ch_y", T0 + 10, 100, {"card": "fp2", "email": "e1"}))
    assert store.observe(seen("ch_x", T0 + 50, email="e1")) == first
    assert store.observe(seen("ch_x", T0 + 60, 5, ip="ip9")) == first  # other subjects
    after = store.observe(seen("ch_z", T0 + 70, email="e1"))
    assert (after["card_velocity_1h"], after["card_blocks_1h"]) == (3, 1)
    assert after["distinct_cards_per_email_7d"] == 2


def test_assessments_in_flight_at_once_each_count_a_distinct_number(make_store: MakeStore) -> None:
    """Many charges of one card at once on the event loop (Redis: over a pool of connections,
    arriving in any order), with clocks in the reverse order: 0, 1, ... n-1, each once."""
    store = make_store()
    n = 40

    async def run() -> list[dict[str, int]]:
        sightings = [seen(f"ch_{i:02}", T0 + n - i) for i in range(n)]
        answers = await asyncio.gather(*(store.observe_async(s) for s in sightings))
        if isinstance(store, RedisVelocity):
            await store.aclose()
        return answers

    answers = asyncio.run(run())
    assert sorted(a["card_velocity_1h"] for a in answers) == list(range(n))
    assert sorted(a["card_amount_1h"] for a in answers) == [100 * i for i in range(n)]
    assert store.observe(seen("ch_last", T0))["card_velocity_1h"] == n


def test_threads_observing_one_card_at_once_each_count_a_distinct_number(
    make_store: MakeStore,
) -> None:
    """The same through `observe` from threads (a backtest, an approval): the memory store's
    lock and Redis's script order serialise them alike."""
    store = make_store()
    sightings = [seen(f"ch_{i:02}", T0 - i, ip="ip1") for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(store.observe, sightings))
    assert sorted(a["card_velocity_1h"] for a in answers) == list(range(40))
    assert sorted(a["ip_velocity_1h"] for a in answers) == list(range(40))


def test_subjects_are_counted_apart_and_missing_ones_yield_nothing(make_store: MakeStore) -> None:
    store = make_store()
    store.observe(seen("ch_1", T0, ip="10.0.0.1", email="a@x.test"))
    values = store.observe(seen("ch_2", T0 + 1, ip="10.0.0.2", email="a@x.test"))
    assert (values["ip_velocity_1h"], values["email_velocity_1h"]) == (0, 1)
    bare = store.observe(seen("ch_3", T0 + 2))
    assert "ip_velocity_1h" not in bare and "customer_velocity_1h" not in bare
    assert bare["card_velocity_1h"] == 2


def test_distinct_cards_per_ip_and_blocks_of_a_card(make_store: MakeStore) -> None:
    store = make_store()
    for i, card in enumerate(["fp1", "fp2", "fp2", "fp3"]):
        store.observe(Observation("test:mkt_1", f"ch_{i}", T0 + i, 5, {"card": card, "ip": "ip1"}))
    store.record_block("test:mkt_1", "fp9", "ch_b1", T0 - 2 * HOUR)
    store.record_block("test:mkt_1", "fp9", "ch_b2", T0 - 1)
    values = store.observe(
        Observation("test:mkt_1", "ch_9", T0 + 9, 5, {"card": "fp9", "ip": "ip1"})
    )
    assert values["distinct_cards_per_ip_7d"] == 4
    assert (values["card_blocks_1h"], values["card_blocks_24h"]) == (1, 2)


def test_marketplaces_and_modes_never_share_a_counter(make_store: MakeStore) -> None:
    store = make_store()
    store.observe(seen("ch_1", T0))
    other = store.observe(Observation("live:mkt_1", "ch_2", T0 + 1, 5, {"card": "fp1"}))
    assert other["card_velocity_1h"] == 0


def test_charges_older_than_a_week_are_trimmed(make_store: MakeStore) -> None:
    store = make_store()
    store.observe(seen("ch_old", T0))
    assert store.observe(seen("ch_new", T0 + 8 * DAY))["card_velocity_7d"] == 0


def test_a_set_keeps_at_most_cap_members(make_store: MakeStore) -> None:
    store = make_store(cap=3)
    for i in range(6):
        store.observe(seen(f"ch_{i}", T0 + i))
    assert store.observe(seen("ch_last", T0 + 10))["card_velocity_1h"] == 2


def test_the_event_loop_calls_count_as_the_thread_calls(make_store: MakeStore) -> None:
    """An assessment served over HTTP awaits observe_async and record_block_async; a
    backtest or an approval calls observe: one set of counters, whichever is called."""
    store = make_store()

    async def run() -> tuple[dict[str, int], dict[str, int]]:
        store.observe(seen("ch_1", T0 - 2, ip="ip1"))
        first = await store.observe_async(seen("ch_2", T0 - 1, ip="ip1"))
        again = await store.observe_async(seen("ch_2", T0 + 5, 999, ip="ip1"))
        assert again == first  # a retry on the loop answers as the first, as observe does
        await store.record_block_async("test:mkt_1", "fp1", "ch_b1", T0 - 1)
        store.record_block("test:mkt_1", "fp1", "ch_b2", T0 - 1)
        last = await store.observe_async(seen("ch_3", T0, ip="ip1"))
        if isinstance(store, RedisVelocity):
            await store.aclose()
        return first, last

    first, last = asyncio.run(run())
    assert (first["card_velocity_1h"], first["ip_velocity_1h"]) == (1, 1)
    assert (last["card_velocity_1h"], last["card_amount_1h"]) == (2, 200)
    assert (last["card_blocks_1h"], last["card_blocks_24h"]) == (2, 2)
    assert store.observe(seen("ch_4", T0 + 1))["card_velocity_1h"] == 3


class CountingRedis(redis.Redis):
    """A client that counts the commands it sends: each is one round trip."""

    commands: list[str]

    def execute_command(self, *args, **options):
        self.commands.append(str(args[0]))
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


def test_redis_keys_expire_and_one_assessment_is_one_command(redis_target) -> None:
    url, prefix = redis_target
    client = CountingRedis(connection_pool=redis.ConnectionPool.from_url(url))
    client.commands = []
    store = RedisVelocity(client, prefix)
    store.observe(seen("ch_1", T0, ip="10.0.0.1"))  # loads the script
    client.commands.clear()
    store.observe(seen("ch_2", T0 + 1, ip="10.0.0.1", email="e@x.test", customer="cus_1"))
    assert client.commands == ["EVALSHA"]
    keys = list(client.scan_iter(match=prefix + "*"))
    assert keys
    for key in keys:
        assert 0 < client.ttl(key) <= 7 * 86_400 + 60
    assert not any(b"e@x.test" in key or b"10.0.0.1" in key for key in keys)


def test_the_event_loop_call_loads_the_script_when_redis_has_lost_it(redis_target) -> None:
    """After a Redis restart (or SCRIPT FLUSH) EVALSHA is refused: the call sends the
    script itself, and counts as before."""
    url, prefix = redis_target
    client = redis.asyncio.Redis.from_url(url)
    store = RedisVelocity(redis.Redis.from_url(url), prefix, async_client=client)

    async def run() -> tuple[dict[str, int], dict[str, int]]:
        first = await store.observe_async(seen("ch_1", T0, ip="10.0.0.1"))
        await client.script_flush()
        second = await store.observe_async(seen("ch_2", T0 + 1, ip="10.0.0.1"))
        await store.aclose()
        return first, second

    first, second = asyncio.run(run())
    assert (first["card_velocity_1h"], second["card_velocity_1h"]) == (0, 1)
    assert second["ip_velocity_1h"] == 1


def test_a_dropped_connection_fails_one_call_and_the_next_reconnects(redis_target) -> None:
    """A pooled connection that Redis closed (a restart, an idle timeout) fails the call on
    it (the assessment fails closed) and is not handed out again as it is."""
    url, prefix = redis_target
    client = redis.asyncio.Redis.from_url(url)
    store = RedisVelocity(redis.Redis.from_url(url), prefix, async_client=client)

    async def run() -> dict[str, int]:
        await store.observe_async(seen("ch_1", T0))
        pooled = await client.client_id()  # the pool's one connection, which the store used
        redis.Redis.from_url(url).client_kill_filter(_id=str(pooled))
        with pytest.raises(redis.ConnectionError):
            await store.observe_async(seen("ch_2", T0 + 1))
        answer = await store.observe_async(seen("ch_3", T0 + 2))
        await store.aclose()
        return answer

    assert asyncio.run(run())["card_velocity_1h"] == 1
