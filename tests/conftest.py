"""Fixtures shared by every test: real PostgreSQL and Redis, hypothesis profiles."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from hypothesis import HealthCheck, settings

from tests.helpers import scan_plugin
from tests.helpers.scan_plugin import pytest_sessionfinish, pytest_terminal_summary

# Issue 16: the session fails if a card number is found in any API stack's data
# (tests/helpers/scan_plugin.py); the two hooks are this conftest's by import.
__all__ = ["pytest_sessionfinish", "pytest_terminal_summary"]

settings.register_profile("fast", max_examples=60, deadline=None)
settings.register_profile(
    "deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

# Every test tokenises from one address with a few keys: the vaults that the stacks start
# (processes inherit this) are not paced; tests/vault/routes/test_guessing.py tests pacing.
PACING_OFF = {
    "VAULT_TOKENISE_PER_CLIENT_MINUTE": "1000000",
    "VAULT_TOKENISE_PER_KEY_MINUTE": "1000000",
}
for _name, _value in PACING_OFF.items():
    os.environ.setdefault(_name, _value)

# scripts/services (run by `make test`) starts these; override to point elsewhere.
PG_ADMIN = os.environ.get("STRONGROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("STRONGROOM_TEST_REDIS", "redis://127.0.0.1:6379/0")


def create_database() -> str:
    """A new, empty PostgreSQL database; returns its SQLAlchemy URL."""
    name = "strongroom_test_" + secrets.token_hex(6)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    scan_plugin.before_drop(url)  # an API database is scanned for card numbers first
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL to a new, empty PostgreSQL database, dropped afterwards."""
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both stores: every contract test runs on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def redis_target() -> Iterator[tuple[str, str]]:
    """A Redis URL and a key prefix of this test's own, whose keys are removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    prefix = "strongroom-test-" + secrets.token_hex(4) + ":"
    yield REDIS_URL, prefix
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
