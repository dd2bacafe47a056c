"""The Alembic chain builds exactly the tables the models describe, on both stores."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DateTime, bindparam, text

from api.store.db import make_engine, migrate
from api.store.models import Base, utcnow


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # a second run finds nothing to do
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert diff == []
        assert version == "0007"
    finally:
        engine.dispose()


def test_charges_succeeded_before_0002_count_as_captured(sqlite_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from api.store.db import MIGRATIONS

    engine = make_engine(sqlite_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            conn.execute(
                text(
                    "INSERT INTO charges (id, marketplace_id, card, amount, currency, metadata,"
                    " status, fraud_reasons, created) VALUES ('ch_old', 'mkt_1', 'card_x', 500,"
                    " 'usd', '{}', 'succeeded', '[]', '2024-01-01')"
                )
            )
        migrate(engine)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT amount_captured, capture FROM charges")).one()
        assert tuple(row) == (500, 1)
    finally:
        engine.dispose()


def test_charges_left_pending_before_0004_are_resumed_from_their_start(sqlite_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from api.store.db import MIGRATIONS

    engine = make_engine(sqlite_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0003")
            for charge_id, status in (("ch_open", "pending"), ("ch_done", "succeeded")):
                conn.execute(
                    text(
                        "INSERT INTO charges (id, marketplace_id, card, amount, currency,"
                        " metadata, status, fraud_reasons, created) VALUES (:id, 'mkt_1',"
                        " 'card_x', 500, 'usd', '{}', :status, '[]', '2024-01-01')"
                    ),
                    {"id": charge_id, "status": status},
                )
        migrate(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, recovery_point, recovery_at, revision FROM charges ORDER BY id")
            ).all()
        assert [(r[0], r[1], r[3]) for r in rows] == [
            ("ch_done", "recorded", 0),
            ("ch_open", "started", 0),
        ]
        assert all(r[2] is not None for r in rows)
    finally:
        engine.dispose()


def test_keys_stored_before_0005_are_digested_and_still_find_their_response(
    database_url: str,
) -> None:
    from alembic import command
    from alembic.config import Config

    from api import idempotency
    from api.store.db import MIGRATIONS, session_factory

    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
            # Typed as the column is: a bare datetime would go through sqlite3's default
            # adapter, deprecated since Python 3.12 (and stored unlike the API stores it).
            conn.execute(
                text(
                    "INSERT INTO idempotency_keys (marketplace_id, key, request_hash,"
                    " response_status, response_body, created) VALUES ('mkt_1', 'order-17',"
                    " 'h', 201, '{\"id\": \"ch_1\"}', :now)"
                ).bindparams(bindparam("now", type_=DateTime(timezone=True))),
                {"now": utcnow()},
            )
        migrate(engine)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT key FROM idempotency_keys")).scalar_one()
        assert stored == idempotency.stored_key("order-17") and "order" not in stored
        replay = idempotency.begin(session_factory(engine), "mkt_1", "order-17", "h")
        assert replay == idempotency.Stored(201, {"id": "ch_1"})
    finally:
        engine.dispose()
