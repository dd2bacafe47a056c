"""The completer finishes what a request left at a recovery point, from the vault's record."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from api.charges.completer import complete_charges, complete_refunds
from api.charges.service import ChargeService
from api.clients.fraud import FraudClient
from api.clients.vault import VaultClient
from api.idempotency import stored_key
from api.ids import new_id
from api.refunds.service import RefundService
from api.store.db import make_engine, session_factory
from api.store.models import Charge, Event, IdempotencyRecord, Refund, Review, utcnow
from strongroom import testcards
from tests.api.conftest import Stacks

LATER = utcnow() + dt.timedelta(hours=1)
STUCK = dt.timedelta(seconds=30)
GIVE_UP = dt.timedelta(hours=2)


@pytest.fixture
def services(sqlite_stacks: Stacks) -> Iterator[tuple[ChargeService, RefundService, Any]]:
    settings = sqlite_stacks.settings["test"]
    engine = make_engine(settings.resolved_database_url())
    vault = VaultClient(settings.vault_url, settings.vault_credential.get_secret_value(), 10)
    fraud = FraudClient(settings.fraud_url, settings.fraud_credential.get_secret_value(), 10)
    sessions = session_factory(engine)
    secret = settings.key_hash_secret.get_secret_value().encode()
    charges = ChargeService(sessions, vault, fraud, False, secret)
    yield charges, RefundService(sessions, vault, charges, False, secret), sessions
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


def pending_charge(stacks: Stacks, shop: Any, sessions: Any, created: dt.datetime) -> str:
    """A 100 usd charge stored pending before fraud was asked (`started`, as an earlier
    version of the API left a request that died there)."""
    charge_id = new_id("ch")
    with sessions.begin() as session:
        session.add(
            Charge(
                id=charge_id,
                marketplace_id=shop.id,
                card=stacks.token(shop),
                amount=100,
                currency="usd",
                status="pending",
                capture=True,
                amount_captured=0,
                amount_refunded=0,
                refund_reserved=0,
                fraud_reasons=[],
                metadata_={},
                created=created,
                recovery_point="started",
                recovery_at=created,
                revision=0,
            )
        )
    return charge_id


def events_of(sessions: Any, charge_id: str) -> list[str]:
    with sessions() as session:
        rows = session.query(Event).order_by(Event.created).all()
    return [e.type for e in rows if e.data["object"].get("id") == charge_id]


@pytest.mark.parametrize("point", ["assessed", "vault_called"])
def test_a_charge_the_vault_executed_but_whose_answer_was_lost_is_settled(
    sqlite_stacks: Stacks, services, point: str
) -> None:
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = charged(sqlite_stacks, shop)
    with sessions.begin() as session:  # as the API left it when it died at `point`
        session.execute(
            update(Charge)
            .where(Charge.id == charge_id)
            .values(
                status="pending",
                amount_captured=0,
                authorization_code=None,
                recovery_point=point,
                recovery_at=utcnow(),
            )
        )
    assert complete_charges(charges, STUCK, GIVE_UP, now=utcnow()) == 0  # too recent
    assert complete_charges(charges, STUCK, GIVE_UP, now=LATER) >= 1
    with sessions() as session:
        charge = session.get_one(Charge, charge_id)
    assert (charge.status, charge.amount_captured, charge.recovery_point) == (
        "succeeded",
        800,
        "recorded",
    )
    assert charge.authorization_code is not None
    assert complete_charges(charges, STUCK, GIVE_UP, now=LATER) == 0  # nothing left


def test_a_charge_that_never_reached_the_vault_is_sent_once_by_the_completer(
    sqlite_stacks: Stacks, services
) -> None:
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = pending_charge(sqlite_stacks, shop, sessions, utcnow())
    complete_charges(charges, STUCK, GIVE_UP, now=LATER)
    complete_charges(charges, STUCK, GIVE_UP, now=LATER)
    with sessions() as session:
        charge = session.get_one(Charge, charge_id)
    assert (charge.status, charge.amount_captured, charge.fraud_decision) == (
        "succeeded",
        100,
        "allow",
    )
    assert events_of(sessions, charge_id) == ["charge.succeeded"]  # one outcome, once
    with sqlite_stacks.client(shop.sk_test) as client:  # and the merchant sees it
        assert client.get(f"/v1/charges/{charge_id}").json()["status"] == "succeeded"


def test_a_charge_that_never_reached_the_vault_is_failed_once_given_up(
    sqlite_stacks: Stacks, services
) -> None:
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = pending_charge(sqlite_stacks, shop, sessions, utcnow() - dt.timedelta(hours=3))
    complete_charges(charges, STUCK, GIVE_UP, now=LATER)
    with sessions() as session:
        charge = session.get_one(Charge, charge_id)
    assert (charge.status, charge.failure_code) == ("failed", "processing_error")
    with sqlite_stacks.client(shop.sk_test) as client:
        assert client.get(f"/v1/charges/{charge_id}").json()["status"] == "failed"


def test_a_capture_the_vault_made_but_the_api_never_recorded_is_finished(
    sqlite_stacks: Stacks, services
) -> None:
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        body = {"card": sqlite_stacks.token(shop), "amount": 700, "currency": "usd"}
        charge_id = client.post("/v1/charges", json={**body, "capture": False}).json()["id"]
        captured = client.post(f"/v1/charges/{charge_id}/capture", json={"amount": 500})
    assert captured.json()["amount_captured"] == 500
    with sessions.begin() as session:  # as a request that died before recording it left it
        session.execute(
            update(Charge)
            .where(Charge.id == charge_id)
            .values(
                status="authorized",
                amount_captured=0,
                recovery_point="capture_requested",
                recovery={"amount": 500, "why": None},
                recovery_at=utcnow(),
            )
        )
    complete_charges(charges, STUCK, GIVE_UP, now=LATER)
    with sessions() as session:
        charge = session.get_one(Charge, charge_id)
    assert (charge.status, charge.amount_captured, charge.recovery_point) == (
        "succeeded",
        500,
        "recorded",
    )


def test_a_refund_reserved_but_never_sent_is_executed_once(sqlite_stacks: Stacks, services) -> None:
    _, refunds, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = charged(sqlite_stacks, shop)
    refund_id = new_id("re")
    reserve_refund(sessions, shop.id, charge_id, refund_id)  # then the process died
    complete_refunds(refunds, STUCK, now=LATER)
    complete_refunds(refunds, STUCK, now=LATER)  # nothing left to do: it is not sent again
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
    # Another vault process has claimed it and holds its lease: it is still executing.
    with vault_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO refunds"
                " (refund_id, charge_id, amount, status, created_at, claimed_by, lease_until)"
                " VALUES (:r, :c, 300, 'processing', 0, 'another-vault', :until)"
            ),
            {"r": refund_id, "c": charge_id, "until": int(time.time()) + 3600},
        )
    vault_db.dispose()
    reserve_refund(sessions, shop.id, charge_id, refund_id)
    complete_refunds(refunds, STUCK, now=LATER)
    with sessions() as session:
        assert session.get_one(Refund, refund_id).status == "pending"
        assert session.get_one(Charge, charge_id).refund_reserved == 300


def test_a_refund_the_vault_answered_5xx_stays_pending_and_is_finished_later(
    sqlite_stacks: Stacks, services
) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from servicekit import ServiceError
    from tests.helpers.servers import serving

    charges, refunds, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = charged(sqlite_stacks, shop)
    refund_id = new_id("re")
    reserve_refund(sessions, shop.id, charge_id, refund_id)

    async def unavailable(request: Request) -> JSONResponse:
        error = {"type": "api_error", "code": "network_unavailable", "message": "no answer"}
        return JSONResponse({"error": error}, status_code=503)

    failing = Starlette(routes=[Route("/internal/v1/refunds", unavailable, methods=["POST"])])
    with serving(failing) as url:
        settings = sqlite_stacks.settings["test"]
        vault = VaultClient(url, settings.vault_credential.get_secret_value(), 10)
        secret = settings.key_hash_secret.get_secret_value().encode()
        with sessions() as session:
            refund = session.get_one(Refund, refund_id)
        with pytest.raises(ServiceError) as pending:
            RefundService(sessions, vault, charges, False, secret).execute(refund)
        vault.close()
    assert (pending.value.status_code, pending.value.code) == (502, "refund_pending")
    with sessions() as session:  # no outcome: not failed, the reservation kept
        assert session.get_one(Refund, refund_id).status == "pending"
        assert session.get_one(Charge, charge_id).refund_reserved == 300
    complete_refunds(refunds, STUCK, now=LATER)  # the vault answers again
    with sessions() as session:
        assert session.get_one(Refund, refund_id).status == "succeeded"
        charge = session.get_one(Charge, charge_id)
    assert (charge.amount_refunded, charge.refund_reserved) == (300, 0)


def test_a_refund_the_vault_executed_is_read_from_its_record_not_posted_again(
    sqlite_stacks: Stacks, services
) -> None:

    _, refunds, sessions = services
    shop = sqlite_stacks.marketplace()
    charge_id = charged(sqlite_stacks, shop)
    refund_id = new_id("re")
    reserve_refund(sessions, shop.id, charge_id, refund_id)
    settings = sqlite_stacks.settings["test"]
    vault = VaultClient(settings.vault_url, settings.vault_credential.get_secret_value(), 10)
    try:  # the vault executed it; the API died before it recorded the answer
        assert vault.refund(refund_id, charge_id, shop.id, 300).status == "succeeded"
    finally:
        vault.close()
    audit = sqlite_stacks.opts.data_dir / "vault" / "audit.log"
    before = len(audit.read_text().splitlines())
    complete_refunds(refunds, STUCK, now=LATER)
    with sessions() as session:
        assert session.get_one(Refund, refund_id).status == "succeeded"
        charge = session.get_one(Charge, charge_id)
    assert (charge.amount_refunded, charge.refund_reserved) == (300, 0)
    after = [json.loads(line) for line in audit.read_text().splitlines()[before:]]
    assert [e["action"] for e in after] == ["read_refund"]  # read, not posted again


def lost_answer(sessions: Any, charge_id: str, marketplace_id: str, key: str, action: str) -> None:
    """As a capture or cancel under `key` leaves it when the vault executed it and its
    answer was lost (a 502 kept nothing under the key): the charge still authorized, at
    `{action}_requested` with the request's intent, the key's claim released."""
    with sessions.begin() as session:
        charge = session.get_one(Charge, charge_id)
        kept = charge.recovery  # what the recording kept of the request: its key's mark
        assert kept is not None and kept["settled"] == action and kept["key"]
        charge.status = "authorized"
        charge.amount_captured = 0
        charge.recovery_point = f"{action}_requested"
        charge.recovery = {"amount": kept["amount"], "why": None, "key": kept["key"]}
        charge.recovery_at = utcnow()
        session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.marketplace_id == marketplace_id,
                IdempotencyRecord.key == stored_key(key),
            )
            .values(response_status=None, response_body=None, locked_at=None)
        )


def test_a_capture_whose_answer_was_lost_answers_its_retry_with_the_charge(
    sqlite_stacks: Stacks, services
) -> None:
    """Stripe's promise: a retry under the same Idempotency-Key gets what the first request
    would have had, even once the completer recorded that capture; another key is refused."""
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    key = "cap-" + new_id("k")
    with sqlite_stacks.client(shop.sk_test) as client:
        body = {"card": sqlite_stacks.token(shop), "amount": 700, "currency": "usd"}
        charge_id = client.post("/v1/charges", json={**body, "capture": False}).json()["id"]
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": key}) as client:
        first = client.post(f"/v1/charges/{charge_id}/capture", json={"amount": 500})
    assert first.status_code == 200
    lost_answer(sessions, charge_id, shop.id, key, "capture")
    complete_charges(charges, STUCK, GIVE_UP, now=LATER)
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": key}) as client:
        retried = client.post(f"/v1/charges/{charge_id}/capture", json={"amount": 500})
    assert retried.status_code == 200, retried.json()
    answer = retried.json()
    assert (answer["id"], answer["captured"], answer["amount_captured"]) == (charge_id, True, 500)
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": "other-" + key}) as client:
        other = client.post(f"/v1/charges/{charge_id}/capture", json={"amount": 500})
    assert (other.status_code, other.json()["error"]["code"]) == (400, "charge_already_captured")


def test_a_cancel_whose_answer_was_lost_answers_its_retry_with_the_charge(
    sqlite_stacks: Stacks, services
) -> None:
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    key = "void-" + new_id("k")
    with sqlite_stacks.client(shop.sk_test) as client:
        body = {"card": sqlite_stacks.token(shop), "amount": 700, "currency": "usd"}
        charge_id = client.post("/v1/charges", json={**body, "capture": False}).json()["id"]
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": key}) as client:
        assert client.post(f"/v1/charges/{charge_id}/cancel").status_code == 200
    lost_answer(sessions, charge_id, shop.id, key, "void")
    complete_charges(charges, STUCK, GIVE_UP, now=LATER)
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": key}) as client:
        retried = client.post(f"/v1/charges/{charge_id}/cancel")
    assert retried.status_code == 200, retried.json()
    assert (retried.json()["id"], retried.json()["refunded"]) == (charge_id, True)
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": "other-" + key}) as client:
        other = client.post(f"/v1/charges/{charge_id}/cancel")
    assert (other.status_code, other.json()["error"]["code"]) == (400, "charge_not_cancelable")
    with sqlite_stacks.client(shop.sk_test) as client:  # and without a key, as before
        assert client.post(f"/v1/charges/{charge_id}/cancel").status_code == 400


def test_a_held_charge_cancel_whose_answer_was_lost_answers_its_retry_with_the_charge(
    sqlite_stacks: Stacks, services
) -> None:
    """A held charge's cancel closes its review and voids the hold: the void keeps the
    request's key as a plain cancel's does, so its retry after a lost answer gets the
    charge, once the completer recorded it."""
    charges, _, sessions = services
    shop = sqlite_stacks.marketplace()
    key = "held-void-" + new_id("k")
    token = sqlite_stacks.token(shop, testcards.PENDING_REVIEW)
    with sqlite_stacks.client(shop.sk_test) as client:
        body = {"card": token, "amount": 700, "currency": "usd"}
        charge_id = client.post("/v1/charges", json=body).json()["id"]
    with sessions() as session:
        held = session.get_one(Charge, charge_id)
        assert (held.status, held.review_id is not None) == ("pending_review", True)
        assert held.authorization_code is not None
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": key}) as client:
        assert client.post(f"/v1/charges/{charge_id}/cancel").status_code == 200
    # As the cancel leaves it when the vault voided and the answer was lost: the charge
    # held at void_requested with the request's intent, its review open, the key released.
    with sessions.begin() as session:
        charge = session.get_one(Charge, charge_id)
        kept = charge.recovery
        assert kept is not None and kept["settled"] == "void" and kept["key"]
        charge.status = "pending_review"
        charge.recovery_point = "void_requested"
        charge.recovery = {"amount": 0, "why": "canceled", "key": kept["key"]}
        charge.recovery_at = utcnow()
        session.execute(
            update(Review)
            .where(Review.charge_id == charge_id)
            .values(open=True, closed_reason=None, closed_at=None)
        )
        session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.marketplace_id == shop.id,
                IdempotencyRecord.key == stored_key(key),
            )
            .values(response_status=None, response_body=None, locked_at=None)
        )
    complete_charges(charges, STUCK, GIVE_UP, now=LATER)
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": key}) as client:
        retried = client.post(f"/v1/charges/{charge_id}/cancel")
    assert retried.status_code == 200, retried.json()
    assert (retried.json()["id"], retried.json()["refunded"]) == (charge_id, True)
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": "other-" + key}) as client:
        other = client.post(f"/v1/charges/{charge_id}/cancel")
    assert (other.status_code, other.json()["error"]["code"]) == (400, "charge_not_cancelable")


def test_a_release_the_vault_voided_but_the_api_never_recorded_is_finished_once(
    sqlite_stacks: Stacks, services
) -> None:
    """A refund of an authorised charge releases it. Killed between the vault's void and its
    record, the request left the charge at void_requested and its refund pending; with no
    retry, the completers finish both: the charge canceled and the refund succeeded, the
    void asked again (replayed by the vault) and nothing refunded at the network. The
    request's retry then gets that same refund."""
    charges, refunds, sessions = services
    shop = sqlite_stacks.marketplace()
    key = "release-" + new_id("k")
    with sqlite_stacks.client(shop.sk_test) as client:
        body = {"card": sqlite_stacks.token(shop), "amount": 900, "currency": "usd"}
        charge_id = client.post("/v1/charges", json={**body, "capture": False}).json()["id"]
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": key}) as client:
        first = client.post("/v1/refunds", json={"charge": charge_id})
    assert first.status_code == 201, first.text
    refund_id = first.json()["id"]
    lost_answer(sessions, charge_id, shop.id, key, "void")
    with sessions.begin() as session:
        session.execute(update(Refund).where(Refund.id == refund_id).values(status="pending"))
    audit = sqlite_stacks.opts.data_dir / "vault" / "audit.log"
    before = len(audit.read_text().splitlines())
    complete_charges(charges, STUCK, GIVE_UP, now=LATER)
    complete_refunds(refunds, STUCK, now=LATER)
    with sessions() as session:
        refund = session.get_one(Refund, refund_id)
        charge = session.get_one(Charge, charge_id)
    assert (refund.status, refund.release, refund.amount) == ("succeeded", True, 900)
    assert (charge.status, charge.amount_refunded, charge.refund_reserved) == ("canceled", 0, 0)
    after = [json.loads(line)["action"] for line in audit.read_text().splitlines()[before:]]
    assert "refund" not in after  # a release refunds nothing at the network
    with sqlite_stacks.client(shop.sk_test, **{"idempotency-key": key}) as client:
        retried = client.post("/v1/refunds", json={"charge": charge_id})
        shown = client.get(f"/v1/charges/{charge_id}").json()
    assert retried.status_code == 201, retried.text
    assert (retried.json()["id"], retried.json()["status"]) == (refund_id, "succeeded")
    # As Stripe shows a released authorisation: not captured, refunded in full.
    assert (shown["captured"], shown["refunded"], shown["amount_refunded"]) == (False, True, 900)
    with sessions() as session:
        made = session.scalars(select(Event.type).where(Event.type == "refund.created")).all()
        data = session.scalars(select(Event.data).where(Event.type == "refund.created")).all()
    assert [d["object"]["id"] for d in data].count(refund_id) == 1 and made


def test_a_release_whose_charge_was_captured_first_fails_and_refunds_nothing(
    sqlite_stacks: Stacks, services
) -> None:
    """A release's request died before it asked the void, and the charge was captured
    meanwhile: the completer fails the release (nothing is voided or refunded) instead of
    refunding captured money that no reservation holds."""
    _, refunds, sessions = services
    shop = sqlite_stacks.marketplace()
    with sqlite_stacks.client(shop.sk_test) as client:
        body = {"card": sqlite_stacks.token(shop), "amount": 600, "currency": "usd"}
        charge_id = client.post("/v1/charges", json={**body, "capture": False}).json()["id"]
    refund_id = new_id("re")
    with sessions.begin() as session:
        session.add(
            Refund(
                id=refund_id,
                marketplace_id=shop.id,
                charge_id=charge_id,
                amount=600,
                currency="usd",
                status="pending",
                metadata_={},
                created=utcnow(),
                release=True,
            )
        )
    with sqlite_stacks.client(shop.sk_test) as client:
        assert client.post(f"/v1/charges/{charge_id}/capture", json={}).status_code == 200
    complete_refunds(refunds, STUCK, now=LATER)
    with sessions() as session:
        refund = session.get_one(Refund, refund_id)
        charge = session.get_one(Charge, charge_id)
    assert (refund.status, refund.failure_code) == ("failed", "charge_already_captured")
    assert (charge.status, charge.amount_captured) == ("succeeded", 600)
    assert (charge.amount_refunded, charge.refund_reserved) == (0, 0)


def test_a_pass_that_queued_webhooks_wakes_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker polls every few seconds; what a pass recorded is delivered at once."""
    import threading

    from api.charges.completer import Completer
    from api.webhooks.deliveries import QUEUED

    woken = threading.Event()
    nothing: Any = None
    completer = Completer(nothing, nothing, 0.01, STUCK, GIVE_UP, queued=woken.set)
    monkeypatch.setattr(completer, "run_once", lambda: 0)  # a pass that queued none
    completer.start()
    try:
        assert not woken.wait(0.1)

        def queuing() -> int:
            QUEUED.add()
            return 1

        monkeypatch.setattr(completer, "run_once", queuing)
        assert woken.wait(2)
    finally:
        completer.stop()
