"""Attacks on settlement (captures, cancels, partial and full refunds) of a real live stack,
through Stripe's own Python SDK: concurrent requests, lost answers on API→vault and a
vault killed mid-flight, meant to over-refund, double, lose or strand money. Each attack
ends with the checker (strongroom/checker.py) once nothing of it is left unfinished.

The stack, its fault proxies and the merchant's helpers are tests/e2e/test_money_attack.py's.
A finding that is not fixed yet is kept as xfail(strict=True) with what is wrong.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import stripe

from strongroom.checker import Ledgers
from strongroom.faultproxy import Plan

# The same live stack as test_money_attack's (its module fixture `attack`, one per module):
# two API workers, two request handlers and two completers on one database, a fault proxy
# on every hop.
from tests.e2e.test_money_attack import Attack, in_parallel, network_of
from tests.e2e.test_money_attack import attack as attack  # the module fixture, used by name

pytestmark = pytest.mark.e2e

# 409s that say another request is moving the object: no outcome, the merchant retries.
IN_FLIGHT = {"idempotency_key_in_flight", "charge_in_progress", "refund_in_progress"}
# The API's 502s: the vault's answer was lost; the outcome is not known yet, retry.
PENDING = {"charge_pending", "refund_pending", "upstream_unavailable"}
Outcome = Any  # a stripe object, or the stripe.StripeError that ended the retries


def code_of(exc: stripe.StripeError) -> str | None:
    """The error's code (stripe-python sets `code` only on some error classes)."""
    return exc.code or (exc.error.code if exc.error is not None else None)


def _lost(exc: stripe.StripeError) -> bool:
    """An answer that is no outcome: a transport error, a 5xx, a 409 in flight."""
    if isinstance(exc, stripe.APIConnectionError):
        return True
    status = exc.http_status or 0
    return status >= 500 or (status == 409 and code_of(exc) in IN_FLIGHT)


class Merchant:
    """A live merchant using stripe-python (changed only in its base URL, its own retries
    off): each call retried with its Idempotency-Key while the answer is lost, as a
    merchant's code would. Every error answer it saw is kept in `errors`."""

    def __init__(self, attack: Attack) -> None:
        self.attack = attack
        self.client = stripe.StripeClient(
            attack.stack.keys.sk_live,
            base_addresses={"api": attack.stack.edge},
            max_network_retries=0,
        )
        self.errors: list[stripe.StripeError] = []

    def final(self, call: Callable[[], Any], patience: float = 30, retry: bool = True) -> Outcome:
        deadline = time.monotonic() + patience
        while True:
            try:
                return call()
            except stripe.StripeError as exc:
                self.errors.append(exc)
                if not retry or not _lost(exc) or time.monotonic() > deadline:
                    return exc
            time.sleep(0.2)

    def charge(self, run: str, n: int, token: str, amount: int, capture: bool) -> Any:
        params: Any = {
            "source": token,
            "amount": amount,
            "currency": "usd",
            "capture": capture,
            "metadata": {"chaos_run": run, "chaos_intent": f"{run}-{n}"},
        }
        options: Any = {"idempotency_key": f"{run}-{n}-charge"}
        made = self.final(lambda: self.client.v1.charges.create(params=params, options=options))
        assert not isinstance(made, stripe.StripeError), made
        assert made.status == "succeeded" and made.captured is capture, made
        return made

    def refund(
        self, charge_id: str, amount: int | None, key: str, patience: float = 30, retry: bool = True
    ) -> Outcome:
        params: Any = {"charge": charge_id} | ({} if amount is None else {"amount": amount})
        options: Any = {"idempotency_key": key}
        return self.final(
            lambda: self.client.v1.refunds.create(params=params, options=options), patience, retry
        )

    def capture(self, charge_id: str, key: str, amount: int | None = None) -> Outcome:
        params: Any = {} if amount is None else {"amount": amount}
        options: Any = {"idempotency_key": key}
        return self.final(lambda: self.client.v1.charges.capture(charge_id, params, options))

    def cancel(self, charge_id: str, key: str) -> Outcome:
        # stripe-python has no Charge.cancel (Stripe cancels a charge by refunding it);
        # Strongroom's /cancel is asked through the SDK's raw request.
        path = f"/v1/charges/{charge_id}/cancel"

        def cancel() -> Any:
            answer = self.client.raw_request("post", path, idempotency_key=key)
            return self.client.deserialize(answer, api_mode="V1")

        return self.final(cancel)


class WrongMessage(AssertionError):
    """A refusal whose message says what is not so."""


def failed(outcome: Outcome) -> str | None:
    """The error code that ended a call, or None if it answered an object."""
    return code_of(outcome) if isinstance(outcome, stripe.StripeError) else None


def assert_clear(errors: list[stripe.StripeError], allowed: set[str]) -> None:
    """Every error answer names its type, code and message with Stripe's status, and its
    code is one the attack may meet; never a bare 500 nor an unexplained one."""
    for exc in errors:
        if isinstance(exc, stripe.APIConnectionError):
            raise AssertionError(f"the merchant's connection failed: {exc}")
        status, error = exc.http_status or 0, exc.error
        assert status in (400, 402, 409, 502), (status, exc)
        assert error is not None and error.type and error.message, exc
        assert code_of(exc) in allowed, (code_of(exc), status, error.message)


def refunded_at_network(ledgers: Ledgers, charge_id: str) -> list[int]:
    return sorted(
        m.amount
        for m in ledgers.network
        if m.kind == "refund" and m.authorization == charge_id and m.approved and not m.replayed
    )


def test_partial_refunds_past_the_capture_with_lost_answers_never_over_refund(
    attack: Attack,
) -> None:
    """Six partial refunds of one 5,000 charge at once, each under its own key, together
    asking 8,400, while 70% of the vault's answers to the API are lost after it acted
    (drop_answer): the merchant retries each while its answer is lost. Never more refunded
    than captured; each refund made once; every refusal a clear amount_too_large."""
    run = "overlost-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    (token,) = attack.tokens(1)
    charge = merchant.charge(run, 0, token, 5000, capture=True)
    amounts = [1500, 1200, 2000, 900, 1700, 1100]
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=0.7, kinds=("drop_answer",)), 101)
    try:
        answers = in_parallel(
            *[lambda n=n, a=a: merchant.refund(charge.id, a, f"{run}-re{n}") for n, a in
              enumerate(amounts)]
        )  # fmt: skip
    finally:
        proxy.set_plan(Plan(rate=0))
    made = [a for a in answers if failed(a) is None]
    refused = [amounts[n] for n, a in enumerate(answers) if failed(a) is not None]
    assert all(r.status == "succeeded" for r in made), answers
    assert all(failed(a) in (None, "amount_too_large") for a in answers), answers
    total = sum(r.amount for r in made)
    assert total <= 5000
    # All that was reserved was made, so each refusal asked more than was left at the end.
    assert all(amount > 5000 - total for amount in refused), (amounts, answers)
    assert_clear(merchant.errors, PENDING | IN_FLIGHT | {"amount_too_large"})

    ledgers, findings = attack.settled(run)
    assert findings == []
    (api_charge,) = ledgers.charges
    assert api_charge.amount_refunded == total
    assert refunded_at_network(ledgers, charge.id) == sorted(r.amount for r in made)
    assert {r.id for r in ledgers.refunds if r.status == "succeeded"} == {r.id for r in made}


def test_capture_refund_and_cancel_racing_on_an_authorisation_settle_one_way(
    attack: Attack,
) -> None:
    """Rounds of one authorisation (capture=false) captured, refunded in full and canceled
    at once, each under its own key, with latency or lost answers on API→vault. The
    network captures (then perhaps refunds the whole capture) or releases it, never both,
    and the API agrees; the losers are refused clearly."""
    run = "capref-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    rounds = 6
    tokens = attack.tokens(rounds)
    charges = [merchant.charge(run, i, t, 3000 + i, capture=False) for i, t in enumerate(tokens)]
    proxy = attack.proxy("api>vault")
    plans = [
        Plan(rate=0),
        Plan(rate=1.0, kinds=("latency",), latency=(0.05, 0.3)),
        Plan(rate=0.5, kinds=("drop_answer",)),
    ]
    outcomes = []
    for i, charge in enumerate(charges):
        # Rounds with a fast vault, a slow one, one whose answers are lost half the time.
        proxy.set_plan(plans[i % len(plans)], 200 + i)
        try:
            outcomes.append(
                in_parallel(
                    partial(merchant.capture, charge.id, f"{charge.id}-cap"),
                    partial(merchant.refund, charge.id, None, f"{charge.id}-re"),
                    partial(merchant.cancel, charge.id, f"{charge.id}-void"),
                )
            )
        finally:
            proxy.set_plan(Plan(rate=0))

    ledgers, findings = attack.settled(run)
    assert findings == []
    by_id = {c.id: c for c in ledgers.charges}
    for charge, (captured, refunded, canceled) in zip(charges, outcomes, strict=True):
        kinds = [kind for kind, _ in network_of(ledgers, charge.id)]
        api_charge = by_id[charge.id]
        refunds = refunded_at_network(ledgers, charge.id)
        if "capture" in kinds:
            assert kinds == ["authorization", "capture"], kinds
            assert (api_charge.status, api_charge.amount_captured) == ("succeeded", charge.amount)
            assert failed(captured) is None and failed(canceled) == "charge_not_cancelable"
            assert refunds == ([charge.amount] if failed(refunded) is None else [])
            assert api_charge.amount_refunded == sum(refunds)
        else:
            assert kinds == ["authorization", "void"], kinds
            assert (api_charge.status, api_charge.amount_captured) == ("canceled", 0)
            assert failed(captured) == "charge_not_capturable", captured
            # Released by the cancel, or by the refund (which then stands for the release).
            assert failed(refunded) is None or failed(canceled) is None, (refunded, canceled)
            assert refunds == [] and api_charge.amount_refunded == 0
            if failed(refunded) is None:
                assert refunded.amount == charge.amount and refunded.status == "succeeded"
    assert_clear(
        merchant.errors,
        PENDING
        | IN_FLIGHT
        | {
            "charge_not_capturable",
            "charge_not_cancelable",
            "charge_not_refundable",
            "charge_already_refunded",
            "charge_already_captured",  # a release that met the capture: nothing done
        },
    )


def test_a_partial_capture_is_never_refunded_past_what_it_captured(attack: Attack) -> None:
    """Authorisations of 5,000, each captured for 2,000 while refunds race the capture:
    of 2,500, 4,000 and 4,999 on three of them (refused: amount_invalid while the charge is
    only authorised, whose refund releases it whole; amount_too_large once captured), of
    5,000 (a release; charge_already_captured if it meets the capture) on two more. Then,
    on each one captured, refunds of 2,500, 2,001,
    1,200, 1,200 and 900 at once. No refund passes the 2,000 captured; the network
    captures 2,000 or releases, never both, and the API agrees."""
    run = "partcap-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    tokens = attack.tokens(5)
    charges = [merchant.charge(run, i, t, 5000, capture=False) for i, t in enumerate(tokens)]

    def race(charge: Any, asks: tuple[int, ...]) -> list[Outcome]:
        return in_parallel(
            lambda: merchant.capture(charge.id, f"{charge.id}-cap", amount=2000),
            *[lambda a=a: merchant.refund(charge.id, a, f"{charge.id}-over{a}") for a in asks],
        )

    first = in_parallel(
        *[lambda c=c: race(c, (2500, 4000, 4999)) for c in charges[:3]],
        *[lambda c=c: race(c, (5000,)) for c in charges[3:]],
    )
    captured = []
    for charge, (capture, *over) in zip(charges, first, strict=True):
        if failed(capture) is None:
            assert (capture.amount_captured, capture.captured) == (2000, True), capture
            # A release that read the charge authorised and then met the capture refunds
            # nothing and says so (charge_already_captured).
            refused = ("amount_too_large", "amount_invalid", "charge_already_captured")
            assert all(failed(a) in refused for a in over), over
            captured.append(charge)
        else:  # the refund of the whole authorisation released it first
            assert charge in charges[3:], (capture, over)
            assert failed(capture) == "charge_not_capturable", capture
            assert failed(over[0]) is None and over[0].amount == 5000, over
    assert all(c in captured for c in charges[:3])

    amounts = [2500, 2001, 1200, 1200, 900]
    second = in_parallel(
        *[
            lambda c=c, n=n, a=a: merchant.refund(c.id, a, f"{c.id}-re{n}")
            for c in captured
            for n, a in enumerate(amounts)
        ]
    )
    for i in range(len(captured)):
        answers = second[i * len(amounts) : (i + 1) * len(amounts)]
        made = [a.amount for a in answers if failed(a) is None]
        assert all(failed(a) in (None, "amount_too_large") for a in answers), answers
        assert sum(made) <= 2000 and 2500 not in made and 2001 not in made, made
    assert_clear(
        merchant.errors,
        PENDING
        | IN_FLIGHT
        | {
            "amount_too_large",
            "amount_invalid",
            "charge_not_capturable",
            "charge_not_cancelable",
            "charge_already_captured",
        },
    )

    ledgers, findings = attack.settled(run)
    assert findings == []
    by_id = {c.id: c for c in ledgers.charges}
    for charge in charges:
        kinds = network_of(ledgers, charge.id)
        api_charge = by_id[charge.id]
        if charge in captured:
            assert kinds == [("authorization", 5000), ("capture", 2000)], kinds
            assert api_charge.amount_captured == 2000
            assert api_charge.amount_refunded == sum(refunded_at_network(ledgers, charge.id))
            assert api_charge.amount_refunded <= 2000
        else:
            assert [k for k, _ in kinds] == ["authorization", "void"], kinds


def test_one_refund_key_with_two_amounts_at_once_is_refused_not_doubled(attack: Attack) -> None:
    """One Idempotency-Key sent at once with 1,000 (three times) and 2,000 (three times),
    half the vault's answers lost: the parameters that claimed the key first win, the
    others are Stripe's IdempotencyError (400 idempotency_key_reused), and one refund is
    made. Then a key whose first use lost its answer (the key released, the refund
    pending) is sent again with another amount beside its own: still refused."""
    run = "keyreuse-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    (token,) = attack.tokens(1)
    charge = merchant.charge(run, 0, token, 6000, capture=True)
    key = f"{run}-re"
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=0.5, kinds=("drop_answer",)), 303)
    try:
        answers = in_parallel(
            *[lambda a=a: merchant.refund(charge.id, a, key) for a in (1000, 2000) * 3]
        )
    finally:
        proxy.set_plan(Plan(rate=0))
    made = [a for a in answers if failed(a) is None]
    refused = [a for a in answers if failed(a) is not None]
    assert made and {r.id for r in made} == {made[0].id}, answers
    (winner,) = {r.amount for r in made}
    assert all(isinstance(e, stripe.IdempotencyError) for e in refused), refused
    assert {code_of(e) for e in refused} <= {"idempotency_key_reused"}, refused
    assert len(made) == 3 and made[0].status == "succeeded", answers

    # The key's first use loses its answer: the refund stays pending, the key released.
    second = f"{run}-re2"
    proxy.set_plan(Plan(rate=1.0, kinds=("drop_answer",)), 304)
    try:
        lost = merchant.refund(charge.id, 1000, second, retry=False)
    finally:
        proxy.set_plan(Plan(rate=0))
    assert failed(lost) == "refund_pending" and lost.http_status == 502, lost
    again = in_parallel(
        *[lambda a=a: merchant.refund(charge.id, a, second) for a in (1500, 1000, 1500, 1000, 1500)]
    )
    assert [failed(a) for a in again[0::2]] == ["idempotency_key_reused"] * 3, again
    kept = again[1::2]
    assert all(failed(a) is None for a in kept) and {a.id for a in kept} == {kept[0].id}, kept
    assert (kept[0].amount, kept[0].status) == (1000, "succeeded"), kept
    assert_clear(merchant.errors, PENDING | IN_FLIGHT | {"idempotency_key_reused"})

    ledgers, findings = attack.settled(run)
    assert findings == []
    assert refunded_at_network(ledgers, charge.id) == sorted([winner, 1000])
    (api_charge,) = ledgers.charges
    assert api_charge.amount_refunded == winner + 1000
    assert sorted(r.id for r in ledgers.refunds) == sorted([made[0].id, kept[0].id])


def test_refunds_in_flight_through_a_vault_kill_are_finished_once(attack: Attack) -> None:
    """Ten refunds of ten charges sent once each (no merchant retry), held at the vault by a
    slow card network, the vault SIGKILLed while they wait and restarted: the completers
    (the API's and the vault's) finish every one, exactly once; afterwards each key's
    retry answers its refund."""
    run = "refkill-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    tokens = attack.tokens(10)
    charges = in_parallel(
        *[lambda i=i, t=t: merchant.charge(run, i, t, 2000 + i, capture=True) for i, t in
          enumerate(tokens)]
    )  # fmt: skip
    network = attack.proxy("vault>network")
    network.set_plan(Plan(rate=1.0, kinds=("latency",), latency=(0.4, 0.8)), 505)

    # The network back to speed once the vault is down.
    unslowed = partial(network.set_plan, Plan(rate=0))
    kill_vault = partial(attack.killed_and_restarted, "vault", 0.3, 0.3, unslowed)

    try:
        answers = in_parallel(
            *[lambda i=i, c=c: merchant.refund(c.id, 700 + i, f"{run}-re{i}", retry=False) for i, c
              in enumerate(charges)],
            kill_vault,
        )  # fmt: skip
    finally:
        network.set_plan(Plan(rate=0))
    assert any(failed(a) is not None for a in answers[:10]), "the kill caught no refund"
    assert_clear(merchant.errors, PENDING | IN_FLIGHT)

    ledgers, findings = attack.settled(run)
    assert findings == []
    assert sorted(r.status for r in ledgers.refunds) == ["succeeded"] * 10, ledgers.refunds
    by_id = {c.id: c for c in ledgers.charges}
    for i, charge in enumerate(charges):
        assert refunded_at_network(ledgers, charge.id) == [700 + i]
        assert by_id[charge.id].amount_refunded == 700 + i
    retried = in_parallel(
        *[lambda i=i, c=c: merchant.refund(c.id, 700 + i, f"{run}-re{i}") for i, c in
          enumerate(charges)]
    )  # fmt: skip
    assert all(failed(a) is None and a.status == "succeeded" for a in retried), retried
    assert {a.id for a in retried} == {r.id for r in ledgers.refunds}


def test_a_retried_release_after_its_lost_answer_answers_the_refund(attack: Attack) -> None:
    """A full refund of an uncaptured charge (which releases it, as in Stripe): the vault
    voids it and its answer is lost (drop_answer on API→vault); a completer records the
    void. The merchant's retry with the same key must get the refund, as the first
    request would have (Stripe: a retry answers the first request's outcome). Before the
    release kept its key's mark on the void (api/refunds/service.py, `_release`), the
    retry was answered 400 charge_not_refundable and no refund was ever recorded."""
    run = "relretry-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    attack.completers_off()
    (token,) = attack.tokens(1)
    charge = merchant.charge(run, 0, token, 2600, capture=False)
    proxy = attack.proxy("api>vault")
    proxy.set_plan(Plan(rate=1.0, kinds=("drop_answer",)), 606)
    try:
        lost = merchant.refund(charge.id, None, f"{run}-re", retry=False)
    finally:
        proxy.set_plan(Plan(rate=0))
    assert isinstance(lost, stripe.StripeError) and lost.http_status == 502, lost
    assert [k for k, _ in network_of(attack.stack.ledgers(run), charge.id)] == [
        "authorization",
        "void",
    ]
    attack.restart("api-live")  # the completers on again: they record the void
    ledgers, findings = attack.settled(run)
    assert findings == []
    (api_charge,) = ledgers.charges
    assert api_charge.status == "canceled"
    retried = merchant.refund(charge.id, None, f"{run}-re")
    assert failed(retried) is None, (retried, retried.http_status, retried.user_message)
    assert (retried.amount, retried.status) == (2600, "succeeded")


TOO_LARGE = re.compile(r"The refund \((\d+)\) is greater than what is left to refund \((\d+)\)\.")


def test_refunds_of_the_rest_at_once_refund_once_and_refuse_the_others_truly(
    attack: Attack,
) -> None:
    """Rounds of six refunds of the rest of one 4,000 charge (no amount), each under its
    own key, at once, after a partial refund of 1,000: one refunds the 3,000 left; the
    others are refused with a message that is true (Stripe: charge_already_refunded; an
    amount_too_large must name an amount greater than what is left). The race is won
    at random: four rounds, so that a stale refusal shows in almost every run."""
    run = "restrace-" + secrets.token_hex(3)
    merchant = Merchant(attack)
    rounds = 4
    tokens = attack.tokens(rounds)
    charges = [merchant.charge(run, i, t, 4000, capture=True) for i, t in enumerate(tokens)]
    for charge in charges:
        part = merchant.refund(charge.id, 1000, f"{charge.id}-part")
        assert failed(part) is None and part.status == "succeeded", part
        answers = in_parallel(
            *[partial(merchant.refund, charge.id, None, f"{charge.id}-re{n}") for n in range(6)]
        )
        made = [a for a in answers if failed(a) is None]
        assert [a.amount for a in made] == [3000] and made[0].status == "succeeded", answers
    assert_clear(merchant.errors, {"charge_already_refunded", "amount_too_large"})
    ledgers, findings = attack.settled(run)
    assert findings == []  # the money is right: checked before the messages
    by_id = {c.id: c for c in ledgers.charges}
    for charge in charges:
        assert refunded_at_network(ledgers, charge.id) == [1000, 3000]
        assert by_id[charge.id].amount_refunded == 4000
    for exc in merchant.errors:
        message = exc.error.message if exc.error is not None else ""
        shown = TOO_LARGE.fullmatch(message or "")
        if code_of(exc) == "amount_too_large" and (shown is None or int(shown[1]) <= int(shown[2])):
            raise WrongMessage(message)
