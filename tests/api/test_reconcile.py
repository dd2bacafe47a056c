"""Charges and refunds whose answer was lost are settled from what the vault did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from api.clients.fraud import FraudClient
from api.clients.vault import VaultClient
from api.ids import new_id
from api.services.charges import ChargeService
from api.services.reconcile import reconcile_charges, reconcile_refunds
from api.services.refunds import RefundService
from api.store.db import make_engine, session_factory
from api.store.models import Charge, Refund, utcnow
from tests.api.conftest import Stacks

LATER = utcnow() + dt.timedelta(hours=1)


@pytest.fixture
def services(sqlite_stacks: Stacks) -> Iterator[tuple[ChargeService, RefundService, Any]]:
    settings = sqlite_stacks.settings["test"]
    engine = make_engine(settings.resolved_database_url())
    vault = VaultClient(settings.vault_url, settings.vault_credential.get_secret_value(), 10)
    fraud = FraudClient(settings.fraud_url, settings.fraud_credential.get_secret_value(), 10)
    sessions = session_factory(engine)
    secret = settings.key_hash_secret.get_secret_value().encode()
    yield (
        ChargeService(sessions, vault, fraud, False, secret),
        RefundService(sessions, vault, False, secret),
        sessions,
    )
    vault.close()
    fraud.close()
    engine.dispose()


def charged(stacks: Stacks, shop: Any) -> str:
    """The id of an 800 usd test charge made through the API."""
    with stacks.client(shop.sk_test) as client:
        body = {"card": stacks.token(shop), "amount": 800, "currency": "usd"}
        charge_id: str = client.post("/v1/charges", json=body).json()["id"]
    return charge_id


def reserve_refund(sessions: Any, marketplace_id: str, charge_id: str, refund_id: str) -> None:
    """A 300 refund as the API leaves it before it asks the vault: reserved, pending."""
    with sessions.begin() as session:
        session.execute(update(Charge).where(Charge.id == charge_id).values(refund_reserved=300))
        session.add(
            Refund(
                id=refund_id,
                marketplace_id=marketplace_id,
                charge_id=charge_id,
                amount=300,
                currency="usd",
                status="pending",
                metadata_={},
                created=utcnow(),
            )
        )


def test_a_charge_the_vault_executed_but_whose_answer_was_lost_is_settled(
    sqlite_stacks: Stacks, services
) -> None:
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = charged(sqlite_stacks, shop)
    with sessions.begin() as session:  # as it was before the vault's answer arrived
        session.execute(
            update(Charge)
            .where(Charge.id == charge_id)
            .values(status="pending", amount_captured=0, authorization_code=None)
        )
    assert reconcile_charges(charges, charges.vault, now=LATER) >= 1
    with sessions() as session:
        charge = session.get_one(Charge, charge_id)
    assert (charge.status, charge.amount_captured) == ("succeeded", 800)


def test_a_charge_that_never_reached_the_vault_fails_once_its_clearance_is_past(
    sqlite_stacks: Stacks, services
) -> None:
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = new_id("ch")
    with sessions.begin() as session:
        session.add(
            Charge(
                id=charge_id,
                marketplace_id=shop.id,
                card=sqlite_stacks.token(shop),
                amount=100,
                currency="usd",
                status="pending",
                capture=True,
                amount_captured=0,
                amount_refunded=0,
                refund_reserved=0,
                fraud_reasons=[],
                metadata_={},
                created=utcnow(),
            )
        )
    reconcile_charges(charges, charges.vault, now=utcnow())  # too recent: left alone
    with sessions() as session:
        assert session.get_one(Charge, charge_id).status == "pending"
    reconcile_charges(charges, charges.vault, now=LATER)
    with sessions() as session:
        charge = session.get_one(Charge, charge_id)
    assert (charge.status, charge.failure_code) == ("failed", "processing_error")


def test_a_refund_reserved_but_never_sent_is_executed_once(sqlite_stacks: Stacks, services) -> None:
    _, refunds, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = charged(sqlite_stacks, shop)
    refund_id = new_id("re")
    reserve_refund(sessions, shop.id, charge_id, refund_id)  # then the process died
    reconcile_refunds(refunds, now=LATER)
    reconcile_refunds(refunds, now=LATER)  # nothing left to do: it is not sent again
    with sessions() as session:
        refund = session.get_one(Refund, refund_id)
        charge = session.get_one(Charge, charge_id)
    assert refund.status == "succeeded"
    assert (charge.amount_refunded, charge.refund_reserved) == (300, 0)


def test_a_refund_the_vault_is_still_executing_is_left_pending(
    sqlite_stacks: Stacks, services
) -> None:
    from sqlalchemy import create_engine, text

    _, refunds, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = charged(sqlite_stacks, shop)
    refund_id = new_id("re")
    vault_db = create_engine(f"sqlite:///{sqlite_stacks.opts.data_dir / 'vault' / 'vault.db'}")
    with vault_db.begin() as conn:  # the vault has claimed it and not yet finished
        conn.execute(
            text(
                "INSERT INTO refunds (refund_id, charge_id, amount, status, created_at)"
                " VALUES (:r, :c, 300, 'processing', 0)"
            ),
            {"r": refund_id, "c": charge_id},
        )
    vault_db.dispose()
    reserve_refund(sessions, shop.id, charge_id, refund_id)
    reconcile_refunds(refunds, now=LATER)
    with sessions() as session:
        assert session.get_one(Refund, refund_id).status == "pending"
        assert session.get_one(Charge, charge_id).refund_reserved == 300
