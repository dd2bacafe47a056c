"""Spend caps under concurrent live charges: exact on SQLite and PostgreSQL alike.

Many threads reserve at once, each in its own transaction with its charge's claim, as the
charge path does (vault.services.charges, which the app hands `reserve`); the caps must
admit exactly what fits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select

from vault.errors import VaultError
from vault.store.db import make_engine
from vault.store.migrate import upgrade_to_head
from vault.store.models import CardRecord, ChargeRecord, SpendControl
from vault.store.repository import claim_charge
from vault_operator import limits

WIDE = 10**12  # a cap nothing here reaches
THREADS = 24


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(CardRecord),
            {
                "token": "card_caps",
                "marketplace_id": "mkt_a",
                "livemode": True,
                "brand": "visa",
                "bin": "000000",
                "last4": "0000",
                "exp_month": 1,
                "exp_year": 2040,
                "fingerprint": "f" * 32,
                "name": None,
                "key_version": 1,
                "wrapped_key": b"k",
                "pan_nonce": b"n",
                "pan_ciphertext": b"c",
                "created_at": int(time.time()),
            },
        )
    yield engine
    engine.dispose()


def _charge(engine: Engine, caps: limits.Caps, n: int, marketplace: str, amount: int) -> bool:
    """Reserve and claim one live charge as the charge path does; True if admitted."""
    now = int(time.time())
    with engine.begin() as conn:
        refusal = limits.reserve(conn, caps, marketplace, amount, now)
        if refusal is None:
            row = {
                "charge_id": f"ch_{n}",
                "token": "card_caps",
                "marketplace_id": marketplace,
                "livemode": True,
                "amount": amount,
                "currency": "usd",
                "status": "processing",
                "created_at": now,
                "held_for_review": False,
                "capture": False,
            }
            claim_charge(conn, row)
    return refusal is None


def _race(engine: Engine, caps: limits.Caps, charges: list[tuple[str, int]]) -> list[int]:
    """Run every (marketplace, amount) at once; the indexes of those admitted. A charge
    that failed otherwise (e.g. the database refused a connection) fails the race with its
    own error, not as a count that looks like a wrong cap."""
    admitted: list[int] = []
    failed: list[BaseException] = []
    start = threading.Barrier(len(charges))

    def one(n: int, marketplace: str, amount: int) -> None:
        start.wait()
        try:
            if _charge(engine, caps, n, marketplace, amount):
                admitted.append(n)
        except BaseException as exc:  # raised again below, in the test
            failed.append(exc)

    threads = [
        threading.Thread(target=one, args=(n, marketplace, amount))
        for n, (marketplace, amount) in enumerate(charges)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]
    return admitted


def _spent(engine: Engine) -> dict[str, tuple[int, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(SpendControl.scope, SpendControl.total_spent, SpendControl.tripped)
        )
        return {scope: (spent, tripped) for scope, spent, tripped in rows}


def test_a_global_minute_cap_admits_exactly_what_fits_across_marketplaces(engine) -> None:
    caps = limits.Caps(WIDE, WIDE, global_minute=10_000, global_total=WIDE)
    charges = [("mkt_a" if n % 2 else "mkt_b", 1_000) for n in range(THREADS)]
    admitted = _race(engine, caps, charges)
    assert len(admitted) == 10
    with engine.connect() as conn:
        rows = conn.execute(select(ChargeRecord.amount)).scalars().all()
    assert sum(rows) == 10_000
    spent = _spent(engine)
    assert spent["*"] == (10_000, "minute")
    assert spent["mkt_a"][0] + spent["mkt_b"][0] == 10_000


def test_a_marketplace_total_cap_is_exact_and_trips_only_that_marketplace(engine) -> None:
    caps = limits.Caps(WIDE, marketplace_total=5_000, global_minute=WIDE, global_total=WIDE)
    charges = [("mkt_a", 1_000) for _ in range(THREADS // 2)]
    charges += [("mkt_b", 100) for _ in range(THREADS // 2)]
    admitted = _race(engine, caps, charges)
    assert len([n for n in admitted if n < THREADS // 2]) == 5
    assert len([n for n in admitted if n >= THREADS // 2]) == THREADS // 2
    spent = _spent(engine)
    assert spent["mkt_a"] == (5_000, "total")
    assert spent["mkt_b"] == (100 * (THREADS // 2), None)
    assert spent["*"] == (5_000 + 100 * (THREADS // 2), None)


def test_a_tripped_cap_refuses_even_a_charge_that_would_fit(engine) -> None:
    caps = limits.Caps(
        marketplace_minute=1_500, marketplace_total=WIDE, global_minute=WIDE, global_total=WIDE
    )
    assert _charge(engine, caps, 1, "mkt_a", 1_000)
    assert not _charge(engine, caps, 2, "mkt_a", 1_000)  # trips the minute cap
    with engine.begin() as conn:
        refusal = limits.reserve(conn, caps, "mkt_a", 10, int(time.time()))
    assert isinstance(refusal, VaultError) and refusal.code == "spend_limit_reached"
    assert _spent(engine)["mkt_a"] == (1_000, "minute")


def test_a_charge_leaves_the_minute_window_a_minute_on_and_its_slot_is_reused(engine) -> None:
    caps = limits.Caps(
        marketplace_minute=1_500, marketplace_total=WIDE, global_minute=WIDE, global_total=WIDE
    )
    start = 1_800_000_000

    def admitted(seconds_on: int, amount: int) -> bool:
        with engine.begin() as conn:
            return limits.reserve(conn, caps, "mkt_a", amount, start + seconds_on) is None

    assert admitted(0, 1_000)
    assert admitted(60, 1_000)  # the first is a minute old: out of the window
    assert admitted(61, 500)  # the slot of both holds the second alone: 1_500 fits
    assert not admitted(62, 1)
    assert _spent(engine)["mkt_a"] == (2_500, "minute")
