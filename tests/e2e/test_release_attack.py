"""Attacks on releases (a refund of a charge only authorised, which voids the authorisation
at the network instead of refunding money) of a real live stack, through Stripe's own
Python SDK: releases racing captures, cancels and other releases on one authorisation,
lost answers on API→vault with the merchant's retries, a retry under another key or
amount, the API killed between the vault's void and its record, a held charge released.

Each attack checks the money (the card network's log: one void or one capture per
authorisation, never a refund for a release), the merchant's view (the refund final once
the completers ran, the charge as Stripe shows it, the events) and the answers' codes.
The stack, its fault proxies and the merchant are test_money_attack's and
test_settlement_attack's. A finding that is not fixed yet is kept as xfail(strict=True)
with what is wrong.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from functools import partial
from typing import Any

import httpx
import pytest
import sqlalchemy
import stripe

from servicekit.crashpoints import VARIABLE
from strongroom.checker import Ledgers
from strongroom.faultproxy import Plan

# The same live stack as test_money_attack's (its module fixture `attack`, one per module).
from tests.e2e.test_money_attack import Attack, in_parallel, network_of
from tests.e2e.test_money_attack import attack as attack  # the module fixture, used by name
from tests.e2e.test_settlement_attack import (
    IN_FLIGHT,
    PENDING,
    Merchant,
    assert_clear,
    failed,
    refunded_at_network,
)

pytestmark = pytest.mark.e2e


def kinds_at_network(ledgers: Ledgers, charge_id: str) -> list[str]:
    return [kind for kind, _ in network_of(ledgers, charge_id)]


def refunds_of(merchant: Merchant, charge_id: str) -> list[Any]:
    """The charge's refunds as the merchant lists them (GET /v1/refunds?charge=)."""
    listed = merchant.client.v1.refunds.list(params={"charge": charge_id, "limit": 100})
    return list(listed.data)


def events_of(merchant: Merchant, kind: str, object_ids: set[str]) -> Counter[str]:
    """How many events of type `kind` name each of `object_ids` (GET /v1/events)."""
    seen: Counter[str] = Counter()
    params: Any = {"type": kind, "limit": 100}
    for event in merchant.client.v1.events.list(params=params).auto_paging_iter():
        shown = event.data.object
        if shown["id"] in object_ids:
            seen[shown["id"]] += 1
    return seen


def releases(attack: Attack) -> set[str]:
    """The ids of the API's refunds stored as releases (its `release` column)."""
    engine = sqlalchemy.create_engine(attack.api_database)
    try:
        with engine.connect() as connection:
            query = sqlalchemy.text("SELECT id FROM refunds WHERE release")
            return set(connection.execute(query).scalars())
    finally:
        engine.dispose()


def serving(merchant: Merchant, charge_id: str, patience: float = 20) -> None:
    """Wait until the live stack answers again (after a restart the router may answer
    503 stack_unavailable for a moment); what it answered meanwhile is no outcome."""
    deadline = time.monotonic() + patience
    while True:
        try:
            merchant.client.v1.charges.retrieve(charge_id)
            return
        except stripe.StripeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def settled_refunds(attack: Attack, run: str, patience: float = 30) -> Ledgers:
    """The ledgers once the checker has no finding and no refund of the run is pending."""
    deadline = time.monotonic() + patience
    while True:
        ledgers, findings = attack.settled(run)
        pending = [r for r in ledgers.refunds if r.status == "pending"]
        if (not findings and not pending) or time.monotonic() > deadline:
            assert findings == []
            assert pending == [], pending
            return ledgers
        time.sleep(0.5)


def captured_first(ledgers: Ledgers, charge: Any, released: Any, kept: set[str]) -> int:
    """The capture won the race; what the full refund then refunded at the network. A
    release that met the capture refunds nothing (charge_already_captured); a refund asked
    once the capture was recorded is an ordinary refund of it, as in Stripe, and never a
    refund stored as a release."""
    net = refunded_at_network(ledgers, charge.id)
    if failed(released) == "charge_already_captured":
        assert net == [], net
        return 0
    assert failed(released) is None, released
    assert (released.status, released.amount) == ("succeeded", charge.amount), released
    assert released.id not in kept, "a release refunded money at the network"
    assert net == [charge.amount], net
    amount: int = charge.amount
    return amount


def test_a_lost_release_retried_under_a_new_key_is_one_refund(attack: Attack) -> None:
    """A release whose every vault answer is lost (the network voided it), the completers
    off; the merchant, seeing a 502, asks again with a fresh Idempotency-Key (as a merchant
    that does not keep its keys does). Then the completers run. One void at the network,
    one refund that stands for it: the other is refused, never a second release."""
    run = "relnewkey-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    attack.completers_off()
    (token,) = attack.tokens(1)
    charge = merchant.charge(run, 0, token, 2400, capture=False)
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=1.0, kinds=("drop_answer",)), 701)
    try:
        lost = merchant.refund(charge.id, None, f"{run}-re", retry=False)
    finally:
        proxy.set_plan(Plan(rate=0))
    assert failed(lost) in PENDING and lost.http_status == 502, lost
    # Refused while the first is pending (409 refund_in_progress): asked a few times only.
    again = merchant.refund(charge.id, None, f"{run}-re-again", patience=2)
    attack.restart("api-live")  # the completers on again: they finish the first release
    ledgers = settled_refunds(attack, run)

    assert kinds_at_network(ledgers, charge.id) == ["authorization", "void"]
    assert refunded_at_network(ledgers, charge.id) == []
    first = merchant.refund(charge.id, None, f"{run}-re")  # its retry: the refund it asked
    assert failed(first) is None and (first.status, first.amount) == ("succeeded", 2400), first
    listed = refunds_of(merchant, charge.id)
    shown = merchant.client.v1.charges.retrieve(charge.id)
    assert (shown.status, shown.captured, shown.refunded) == ("succeeded", False, True)
    assert shown.amount_refunded == 2400
    # The merchant's refunds of the charge add up to what Stripe says was refunded.
    assert sum(r.amount for r in listed if r.status == "succeeded") == shown.amount_refunded, [
        (r.id, r.status, r.amount) for r in listed
    ]
    assert failed(again) in {"refund_in_progress", "charge_already_refunded"}, again
    late = merchant.refund(charge.id, None, f"{run}-re-late")  # once the first is finished
    assert failed(late) == "charge_already_refunded", late


def test_releases_under_their_own_keys_at_once_release_once(attack: Attack) -> None:
    """Rounds of five releases of one authorisation at once, each under its own key, the
    vault slow so that they overlap. The network voids it once, and exactly one refund
    stands for the release; the others are refused clearly."""
    run = "relrace-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    rounds = 3
    tokens = attack.tokens(rounds)
    charges = [merchant.charge(run, i, t, 1500 + i, capture=False) for i, t in enumerate(tokens)]
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=1.0, kinds=("latency",), latency=(0.05, 0.25)), 702)
    try:
        outcomes = [
            in_parallel(*[partial(merchant.refund, c.id, None, f"{c.id}-re{n}") for n in range(5)])
            for c in charges
        ]
    finally:
        proxy.set_plan(Plan(rate=0))
    ledgers = settled_refunds(attack, run)
    made = []
    for charge, answers in zip(charges, outcomes, strict=True):
        assert kinds_at_network(ledgers, charge.id) == ["authorization", "void"]
        assert refunded_at_network(ledgers, charge.id) == []
        ok = [a for a in answers if failed(a) is None]
        assert ok and all((a.status, a.amount) == ("succeeded", charge.amount) for a in ok), ok
        made.append(len(ok))
        succeeded = [r for r in ledgers.refunds if r.charge_id == charge.id]
        assert all(r.status in ("succeeded", "failed") for r in succeeded), succeeded
    assert_clear(
        merchant.errors,
        PENDING | IN_FLIGHT | {"charge_already_refunded", "charge_not_refundable"},
    )
    assert made == [1] * rounds, f"succeeded releases per authorisation: {made}"


def test_releases_racing_captures_with_lost_answers_settle_one_way(attack: Attack) -> None:
    """Rounds of an authorisation released (a full refund) and captured at once, each
    under its own key, half the vault's answers to the API lost (drop_answer) and the
    merchant retrying each while lost. The network voids or captures it, once, and never
    refunds a release: the release that met the capture fails `charge_already_captured`,
    its refund `failed` (never left pending), its retry answered the same (a full refund
    asked once the capture was recorded is an ordinary refund of it, as in Stripe); the
    release that won is one succeeded refund of all of it, the capture
    charge_not_capturable, and the charge shows as Stripe shows it either way."""
    run = "relcap-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    rounds = 6
    tokens = attack.tokens(rounds)
    charges = [merchant.charge(run, i, t, 2000 + i, capture=False) for i, t in enumerate(tokens)]
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=0.5, kinds=("drop_answer",)), 703)
    try:
        outcomes = in_parallel(
            *[
                lambda c=c: in_parallel(
                    partial(merchant.refund, c.id, None, f"{c.id}-rel"),
                    partial(merchant.capture, c.id, f"{c.id}-cap"),
                )
                for c in charges
            ]
        )
    finally:
        proxy.set_plan(Plan(rate=0))
    ledgers = settled_refunds(attack, run)
    kept = releases(attack)
    by_id = {c.id: c for c in ledgers.charges}
    for charge, (released, captured) in zip(charges, outcomes, strict=True):
        kinds = kinds_at_network(ledgers, charge.id)
        api_charge = by_id[charge.id]
        mine = [r for r in ledgers.refunds if r.charge_id == charge.id]
        assert len(mine) <= 1, mine
        shown = merchant.client.v1.charges.retrieve(charge.id)
        if kinds == ["authorization", "capture"]:
            assert failed(captured) is None and captured.amount_captured == charge.amount
            refunded = captured_first(ledgers, charge, released, kept)
            assert [r.status for r in mine] in ([], ["failed"], ["succeeded"]), mine
            assert (api_charge.status, api_charge.amount_refunded) == ("succeeded", refunded)
            assert (shown.captured, shown.amount_refunded) == (True, refunded)
            assert shown.refunded is (refunded == charge.amount)
        else:
            assert kinds == ["authorization", "void"], kinds
            assert refunded_at_network(ledgers, charge.id) == []
            assert failed(captured) == "charge_not_capturable", captured
            assert failed(released) is None, released
            assert (released.status, released.amount) == ("succeeded", charge.amount)
            assert [(r.id, r.status) for r in mine] == [(released.id, "succeeded")]
            assert api_charge.status == "canceled"
            assert (shown.captured, shown.refunded) == (False, True)
            assert shown.amount_refunded == charge.amount
        # The release's retry under its key answers what its first request ended with.
        retried = merchant.refund(charge.id, None, f"{charge.id}-rel")
        assert failed(retried) == failed(released), (retried, released)
        if failed(released) is None:
            assert (retried.id, retried.status) == (released.id, "succeeded")
    assert_clear(
        merchant.errors,
        PENDING | IN_FLIGHT | {"charge_already_captured", "charge_not_capturable"},
    )


def test_a_release_killed_between_void_and_record_is_finished_once(attack: Attack) -> None:
    """The API dies (api:voided:after) after the vault voided a release's authorisation and
    before its record; the merchant never retries. The completers finish it: the charge
    canceled, the refund succeeded, nothing refunded at the network; one refund.created
    and one refund.succeeded; the key's retry answers that refund; the charge shows as
    Stripe shows a released authorisation."""
    run = "relkill-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    (token,) = attack.tokens(1)
    charge = merchant.charge(run, 0, token, 3100, capture=False)
    attack.stack.supervisor.restart("api-live", {VARIABLE: "api:voided:after"})
    try:
        serving(merchant, charge.id)  # armed, and answering: the release reaches it
        died = merchant.refund(charge.id, None, f"{run}-rel", retry=False)
        voided = kinds_at_network(attack.stack.ledgers(run), charge.id)
        assert voided == ["authorization", "void"], (voided, died)
    finally:
        attack.stack.supervisor.restart("api-live")  # disarmed, completers on
    assert isinstance(died, stripe.StripeError), died
    lost = PENDING | {"stack_unavailable"}  # the router's 503: the API died under it
    assert failed(died) in lost or isinstance(died, stripe.APIConnectionError), died
    serving(merchant, charge.id)
    merchant.errors.clear()  # the kill's own answer
    ledgers = settled_refunds(attack, run)
    assert kinds_at_network(ledgers, charge.id) == ["authorization", "void"]
    assert refunded_at_network(ledgers, charge.id) == []
    (refund,) = ledgers.refunds
    assert (refund.status, refund.amount) == ("succeeded", 3100)
    (api_charge,) = ledgers.charges
    assert (api_charge.status, api_charge.amount_refunded) == ("canceled", 0)

    retried = merchant.refund(charge.id, None, f"{run}-rel")
    assert failed(retried) is None, retried
    assert (retried.id, retried.status, retried.amount) == (refund.id, "succeeded", 3100)
    shown = merchant.client.v1.charges.retrieve(charge.id)
    assert (shown.captured, shown.refunded, shown.amount_refunded) == (False, True, 3100)
    assert [r.id for r in refunds_of(merchant, charge.id)] == [refund.id]
    assert events_of(merchant, "refund.created", {refund.id}) == {refund.id: 1}
    assert events_of(merchant, "refund.succeeded", {refund.id}) == {refund.id: 1}
    assert events_of(merchant, "refund.failed", {refund.id}) == {}
    assert events_of(merchant, "charge.canceled", {charge.id}) == {charge.id: 1}
    assert merchant.errors == []


def test_a_release_retried_with_another_amount_or_partial_is_refused(attack: Attack) -> None:
    """A release's first request loses its answer (the void made, the refund pending); its
    retries under the same key with an amount are refused idempotency_key_reused and
    change nothing; a partial release under a new key is amount_invalid; the retry with
    the same parameters answers the one refund, and the network voided once."""
    run = "relamt-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    (token,) = attack.tokens(1)
    charge = merchant.charge(run, 0, token, 4000, capture=False)
    serving(merchant, charge.id)
    merchant.errors.clear()
    key = f"{run}-rel"
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=1.0, kinds=("drop_answer",)), 704)
    try:
        lost = merchant.refund(charge.id, None, key, retry=False)
    finally:
        proxy.set_plan(Plan(rate=0))
    assert failed(lost) in PENDING, lost
    answers = in_parallel(
        partial(merchant.refund, charge.id, 1000, key),
        partial(merchant.refund, charge.id, 4000, key),
        partial(merchant.refund, charge.id, 2500, f"{run}-part"),
        partial(merchant.refund, charge.id, None, key),
    )
    assert failed(answers[0]) == "idempotency_key_reused", answers[0]
    assert failed(answers[1]) == "idempotency_key_reused", answers[1]
    assert failed(answers[2]) in {"amount_invalid", "charge_not_refundable"}, answers[2]
    kept = answers[3]
    assert failed(kept) is None and (kept.status, kept.amount) == ("succeeded", 4000), kept
    ledgers = settled_refunds(attack, run)
    assert kinds_at_network(ledgers, charge.id) == ["authorization", "void"]
    assert refunded_at_network(ledgers, charge.id) == []
    assert [(r.id, r.status) for r in ledgers.refunds] == [(kept.id, "succeeded")]
    assert_clear(
        merchant.errors,
        PENDING | IN_FLIGHT | {"idempotency_key_reused", "amount_invalid", "charge_not_refundable"},
    )


def test_release_cancel_and_capture_racing_with_lost_answers_void_once(attack: Attack) -> None:
    """Rounds of one authorisation released, canceled and captured at once (each its own
    key, retried while lost, 60% of vault answers lost). The network voids or captures
    it once; never a refund at the network; every refund of the run final (none pending
    once the completers ran); each refund's events once each: refund.created, and one
    refund.succeeded or refund.failed as it ended."""
    run = "relcan-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    rounds = 5
    tokens = attack.tokens(rounds)
    charges = [merchant.charge(run, i, t, 1200 + i, capture=False) for i, t in enumerate(tokens)]
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=0.6, kinds=("drop_answer",)), 705)
    try:
        outcomes = in_parallel(
            *[
                lambda c=c: in_parallel(
                    partial(merchant.refund, c.id, None, f"{c.id}-rel"),
                    partial(merchant.cancel, c.id, f"{c.id}-void"),
                    partial(merchant.capture, c.id, f"{c.id}-cap"),
                )
                for c in charges
            ]
        )
    finally:
        proxy.set_plan(Plan(rate=0))
    ledgers = settled_refunds(attack, run)
    kept = releases(attack)
    ids = {r.id for r in ledgers.refunds}
    created = events_of(merchant, "refund.created", ids)
    moved = events_of(merchant, "refund.succeeded", ids) + events_of(merchant, "refund.failed", ids)
    for charge, (released, canceled, captured) in zip(charges, outcomes, strict=True):
        kinds = kinds_at_network(ledgers, charge.id)
        assert kinds in (["authorization", "void"], ["authorization", "capture"]), kinds
        if kinds[-1] == "capture":
            assert failed(captured) is None, captured
            captured_first(ledgers, charge, released, kept)
            assert failed(canceled) == "charge_not_cancelable", canceled
        else:
            assert refunded_at_network(ledgers, charge.id) == []
            assert failed(captured) == "charge_not_capturable", captured
            assert failed(released) is None or failed(canceled) is None, (released, canceled)
    assert all(created[i] == 1 for i in ids), created
    assert all(moved[i] == 1 for i in ids), moved
    assert_clear(
        merchant.errors,
        PENDING
        | IN_FLIGHT
        | {
            "charge_already_captured",
            "charge_not_capturable",
            "charge_not_cancelable",
            "charge_not_refundable",
            "charge_already_refunded",
        },
    )


def test_a_release_of_a_charge_held_for_review_is_clear_and_moves_nothing(attack: Attack) -> None:
    """An authorisation held for review (a review rule), released with a full refund: the
    answer is a clear 4xx or the release (never a 500); whatever it is, the network holds
    or voids the authorisation (no capture, no refund), and the refund, if any, is final
    and agrees with the charge."""
    run = "relheld-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    rule = attack.post("/v1/fraud/rules", {"predicate": "review if :amount: == 7357"})
    assert rule.status_code in (200, 201), rule.text
    try:
        (token,) = attack.tokens(1)
        params: Any = {
            "source": token,
            "amount": 7357,
            "currency": "usd",
            "capture": False,
            "metadata": {"chaos_run": run, "chaos_intent": f"{run}-0"},
        }
        held = merchant.final(
            lambda: merchant.client.v1.charges.create(
                params=params, options={"idempotency_key": f"{run}-charge"}
            )
        )
        assert not isinstance(held, stripe.StripeError), held
        assert held.review is not None, held
        released = merchant.refund(held.id, None, f"{run}-rel")
    finally:
        headers = {"host": "api.localhost", "authorization": f"Bearer {attack.stack.keys.sk_live}"}
        url = f"{attack.stack.edge}/v1/fraud/rules/{rule.json()['id']}"
        httpx.delete(url, headers=headers, timeout=30)
    # Refused clearly (what Stripe would release, Strongroom leaves to the review or a
    # cancel), and nothing moved: the charge is still held, its authorisation kept.
    assert failed(released) == "charge_not_refundable" and released.http_status == 400, released
    shown = merchant.client.v1.charges.retrieve(held.id)
    assert (shown.captured, shown.refunded, shown.amount_refunded) == (False, False, 0), shown
    assert refunds_of(merchant, held.id) == []
    # The merchant can still give the held charge up: the review rejected, the
    # authorisation voided.
    canceled = merchant.cancel(held.id, f"{run}-void")
    assert failed(canceled) is None, canceled
    ledgers, findings = attack.settled(run)
    assert findings == []
    kinds = kinds_at_network(ledgers, held.id)
    assert refunded_at_network(ledgers, held.id) == []
    assert kinds == ["authorization", "void"], kinds
    assert ledgers.refunds == []
    assert_clear(merchant.errors, {"charge_not_refundable"})


def test_releases_in_flight_through_a_vault_kill_are_finished_once(attack: Attack) -> None:
    """Eight releases of eight authorisations, held at the vault by a slow card network,
    the vault SIGKILLed while they wait and restarted. Half the merchants send once and
    never retry; the other half retry under their key while the completers finish the
    same releases. Each authorisation is voided once and never refunded; each release is
    one refund, final and succeeded, with one refund.created and one refund.succeeded;
    the charges show as released."""
    run = "relvkill-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    tokens = attack.tokens(8)
    charges = in_parallel(
        *[lambda i=i, t=t: merchant.charge(run, i, t, 800 + i, capture=False) for i, t in
          enumerate(tokens)]
    )  # fmt: skip
    network = attack.proxy("vault>network")
    network.set_plan(Plan(rate=1.0, kinds=("latency",), latency=(0.4, 0.8)), 706)

    # The network back to speed once the vault is down.
    unslowed = partial(network.set_plan, Plan(rate=0))
    kill_vault = partial(attack.killed_and_restarted, "vault", 0.3, 0.3, unslowed)

    try:
        answers = in_parallel(
            *[lambda i=i, c=c: merchant.refund(c.id, None, f"{run}-rel{i}", retry=i % 2 == 1)
              for i, c in enumerate(charges)],
            kill_vault,
        )  # fmt: skip
    finally:
        network.set_plan(Plan(rate=0))
    assert any(failed(a) is not None for a in answers[:8:2]), "the kill caught no release"
    assert_clear(merchant.errors, PENDING | IN_FLIGHT)
    ledgers = settled_refunds(attack, run)
    assert sorted(r.status for r in ledgers.refunds) == ["succeeded"] * 8, ledgers.refunds
    assert {r.id for r in ledgers.refunds} <= releases(attack)
    for charge in charges:
        assert kinds_at_network(ledgers, charge.id) == ["authorization", "void"]
        assert refunded_at_network(ledgers, charge.id) == []
    for i, answer in enumerate(answers[:8]):
        if i % 2 == 1:  # retried until answered
            assert failed(answer) is None and answer.status == "succeeded", answer
    retried = in_parallel(
        *[lambda i=i, c=c: merchant.refund(c.id, None, f"{run}-rel{i}") for i, c in
          enumerate(charges)]
    )  # fmt: skip
    assert all(failed(a) is None and a.status == "succeeded" for a in retried), retried
    ids = {r.id for r in ledgers.refunds}
    assert {a.id for a in retried} == ids
    assert events_of(merchant, "refund.created", ids) == dict.fromkeys(ids, 1)
    assert events_of(merchant, "refund.succeeded", ids) == dict.fromkeys(ids, 1)
    for charge in charges:
        shown = merchant.client.v1.charges.retrieve(charge.id)
        assert (shown.captured, shown.refunded, shown.amount_refunded) == (
            False,
            True,
            charge.amount,
        )


def test_a_release_meeting_an_unrecorded_capture_fails_final_and_answers_alike(
    attack: Attack,
) -> None:
    """A capture the vault made but the API has not recorded (its answers lost, the
    completers off); the merchant releases the charge, once (409: the capture is in
    flight). The completers record the capture and fail the release: its refund `failed`
    charge_already_captured, never left pending, nothing voided or refunded at the
    network. The release's retry under its key then answers as a release that met the
    capture is answered (400 charge_already_captured), and the charge shows captured."""
    run = "relunrec-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    attack.completers_off()
    (token,) = attack.tokens(1)
    charge = merchant.charge(run, 0, token, 2900, capture=False)
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=1.0, kinds=("drop_answer",)), 707)
    options: Any = {"idempotency_key": f"{run}-cap"}
    try:  # asked once: its answer lost, the capture made at the network
        lost = merchant.final(
            lambda: merchant.client.v1.charges.capture(charge.id, {}, options), retry=False
        )
    finally:
        proxy.set_plan(Plan(rate=0))
    assert failed(lost) in PENDING, lost
    first = merchant.refund(charge.id, None, f"{run}-rel", retry=False)
    assert failed(first) == "charge_in_progress" and first.http_status == 409, first
    attack.restart("api-live")  # the completers on again
    ledgers = settled_refunds(attack, run)
    assert kinds_at_network(ledgers, charge.id) == ["authorization", "capture"]
    assert refunded_at_network(ledgers, charge.id) == []
    (refund,) = ledgers.refunds
    assert refund.status == "failed", refund
    shown = merchant.client.v1.charges.retrieve(charge.id)
    assert (shown.captured, shown.refunded, shown.amount_refunded) == (True, False, 0), shown
    retried = merchant.refund(charge.id, None, f"{run}-rel")
    assert failed(retried) == "charge_already_captured", (
        "the retry of a release the completer failed is answered "
        f"{getattr(retried, 'status', retried)!r} (HTTP 201), not charge_already_captured: "
        f"{retried}"
    )
