"""vault.store.outcomes.Outcomes.record: a charge's outcome, a sale's capture, the CVC's destruction
and the audit entries owed for them, all or nothing, and the same on both stores (one
PostgreSQL statement, a SQLite transaction of four)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text, update

from vault.store.db import make_engine
from vault.store.migrate import upgrade_to_head
from vault.store.models import CardRecord, ChargeRecord, OwedAuditEntry, SettlementRecord
from vault.store.outcomes import Outcomes, Recorded
from vault.store.owed import Entry

TOKEN = "card_record_outcome"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    with engine.begin() as conn:
        card = {c.name: b"x" for c in CardRecord.__table__.c if c.type.python_type is bytes}
        conn.execute(
            insert(CardRecord),
            {
                **card,
                "token": TOKEN,
                "marketplace_id": "mkt",
                "livemode": True,
                "brand": "visa",
                "bin": "424242",
                "last4": "4242",
                "exp_month": 12,
                "exp_year": 2040,
                "fingerprint": "f" * 32,
                "name": None,
                "key_version": 1,
                "created_at": 1,
            },
        )
    yield engine
    engine.dispose()


def claim(engine: Engine, charge_id: str, owner: str = "me") -> None:
    row = {
        "charge_id": charge_id,
        "token": TOKEN,
        "marketplace_id": "mkt",
        "livemode": True,
        "amount": 500,
        "currency": "usd",
        "status": "processing",
        "created_at": 1,
        "claimed_by": owner,
        "lease_until": 2,
        "capture": True,
    }
    with engine.begin() as conn:
        conn.execute(insert(ChargeRecord), row)


def state(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            "charges": conn.execute(
                select(
                    ChargeRecord.charge_id,
                    ChargeRecord.status,
                    ChargeRecord.failure_code,
                    ChargeRecord.authorization_code,
                    ChargeRecord.lease_until,
                ).order_by(ChargeRecord.charge_id)
            ).all(),
            "settlements": conn.execute(
                select(SettlementRecord.charge_id, SettlementRecord.amount)
            ).all(),
            "cvc": conn.execute(select(CardRecord.cvc_ciphertext)).scalar(),
            "owed": conn.execute(
                select(OwedAuditEntry.id, OwedAuditEntry.action, OwedAuditEntry.outcome)
            ).all(),
        }


def sale(engine: Engine, charge_id: str, owner: str = "me", captured: int | None = 500) -> Recorded:
    entries: list[Entry] = [("vault", "charge", TOKEN, "succeeded")]
    if captured is not None:
        entries.append(("vault", "capture", TOKEN, "succeeded"))
    outcome = ("succeeded", None, "A1B2C3")
    return Outcomes(engine).record(charge_id, owner, outcome, captured, entries, ("vault", TOKEN))


def test_a_held_sale_is_recorded_captured_its_cvc_destroyed_and_its_entries_owed(
    engine: Engine,
) -> None:
    claim(engine, "ch_1")
    done = sale(engine, "ch_1")
    after = state(engine)
    assert after["charges"] == [("ch_1", "succeeded", None, "A1B2C3", None)]
    assert after["settlements"] == [("ch_1", 500)]
    assert after["cvc"] is None
    owed = [(action, outcome) for _, action, outcome in after["owed"]]
    assert owed == [("charge", "succeeded"), ("capture", "succeeded"), ("destroy_cvc", "destroyed")]
    assert done.held and done.cvc_destroyed
    # Handed over with their rows' ids, in the order the log is to write them.
    assert [(id_, entry[1]) for id_, entry in done.owed] == [(i, a) for i, a, _ in after["owed"]]
    assert [id_ for id_, _ in done.owed] == sorted(id_ for id_, _ in done.owed)


def test_a_charge_another_process_holds_is_left_untouched(engine: Engine) -> None:
    claim(engine, "ch_2", owner="someone-else")
    before = state(engine)
    assert sale(engine, "ch_2") == Recorded(False, False, ())
    assert state(engine) == before  # no outcome, no capture, the CVC kept, nothing owed


def test_a_charge_recorded_already_is_not_recorded_again(engine: Engine) -> None:
    claim(engine, "ch_3")
    assert sale(engine, "ch_3").held
    before = state(engine)
    assert sale(engine, "ch_3") == Recorded(False, False, ())
    assert state(engine) == before


def test_a_decline_on_a_card_without_cvc_owes_only_its_own_entry(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(CardRecord).values(cvc_nonce=None, cvc_ciphertext=None))
    claim(engine, "ch_4")
    entries: list[Entry] = [("vault", "charge", TOKEN, "card_declined")]
    outcome = ("failed", "card_declined", None)
    done = Outcomes(engine).record("ch_4", "me", outcome, None, entries, ("vault", TOKEN))
    assert done.held and not done.cvc_destroyed
    assert [entry for _, entry in done.owed] == entries
    after = state(engine)
    assert after["charges"] == [("ch_4", "failed", "card_declined", None, None)]
    assert after["settlements"] == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_owed")).scalar() == 1


def test_racing_recorders_of_one_charge_record_it_once(engine: Engine) -> None:
    # The holder's request and its own retry of the record (or a completer of the same
    # process) at once: one of them records it; the others find it recorded and write nothing.
    claim(engine, "ch_5")
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda _: sale(engine, "ch_5"), range(8)))
    assert sorted(d.held for d in done) == [False] * 7 + [True]
    after = state(engine)
    assert after["settlements"] == [("ch_5", 500)]
    assert [action for _, action, _ in after["owed"]] == ["charge", "capture", "destroy_cvc"]
