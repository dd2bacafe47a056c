"""The production shape: vault and both API stacks on PostgreSQL, fraud counters in Redis,
an edge of two worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom import demo, testcards
from tests.conftest import REDIS_URL, create_database, drop_database
from tests.e2e.conftest import Stack, files_holding, start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    urls = [create_database() for _ in range(4)]
    try:
        yield from start_stack(
            tmp_path_factory.mktemp("pg-stack"),
            vault_database_url=urls[0],
            api_test_database_url=urls[1],
            api_live_database_url=urls[2],
            fraud_database_url=urls[3],
            fraud_counters_url=REDIS_URL,
            edge_workers=2,
        )
    finally:
        for url in urls:
            drop_database(url)


def test_demo_checkout_on_postgresql_and_redis(pg_stack: Stack) -> None:
    live = testcards.generated_card()
    steps = demo.run(
        pg_stack.edge_url, pg_stack.keys, pg_stack.network_messages, lambda _: None, live
    )
    assert [(s.name, s.got) for s in steps] == [(s.name, s.expected) for s in steps]
    data_dir: Path = pg_stack.opts.data_dir
    # Nothing was written to SQLite: the stacks used the databases they were given.
    assert list(data_dir.rglob("*.db")) == []
    assert files_holding(data_dir, [*testcards.TEST_CARDS, live]) == []
