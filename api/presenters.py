"""Rows to the resources of api.contracts (`as_charge`, `as_customer`, …), and a resource to
its JSON body (`body`): what every feature's service returns and every route sends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from api import contracts as out
from api.clients.vault import VaultCard
from api.store import models


def unix(moment: dt.datetime) -> int:
    """Seconds since the epoch; SQLite hands back naive datetimes, which are UTC here."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def maybe_unix(moment: dt.datetime | None) -> int | None:
    return None if moment is None else unix(moment)


RISK_LEVELS = {"allow": "normal", "review": "elevated", "block": "highest"}
# Failures decided before the card network saw the charge.
NOT_SENT = {"fraud_unavailable", "processing_error"}


def _outcome(charge: models.Charge) -> out.Outcome | None:
    """Stripe's outcome: the network's answer and the fraud screen's score."""
    if charge.status == "pending":
        return None
    level = RISK_LEVELS.get(charge.fraud_decision or "", "not_assessed")
    rule = charge.fraud_reasons[0] if charge.fraud_reasons else None
    common = {"risk_level": level, "risk_score": charge.fraud_score, "rule": rule}
    if charge.status == "blocked":
        return out.Outcome(
            network_status="not_sent_to_network",
            type="blocked",
            reason="highest_risk_level",
            seller_message="Strongroom blocked this payment as too risky.",
            **common,
        )
    if charge.status == "pending_review" or (
        charge.status == "canceled" and charge.authorization_code is None
    ):
        return out.Outcome(
            network_status=None,
            type="manual_review",
            reason="elevated_risk_level",
            seller_message="Strongroom held this payment for review.",
            **common,
        )
    if charge.status == "failed":
        sent = charge.failure_code not in NOT_SENT
        return out.Outcome(
            network_status="declined_by_network" if sent else "not_sent_to_network",
            type="issuer_declined" if sent else "invalid",
            reason=charge.failure_code,
            seller_message=charge.failure_message or "The payment failed.",
            **common,
        )
    return out.Outcome(
        network_status="approved_by_network",
        type="authorized",
        reason=None,
        seller_message="Payment complete.",
        **common,
    )


def stripe_status(charge: models.Charge) -> str:
    """Stripe's status: an authorisation, captured or released, is `succeeded`."""
    if charge.status in ("succeeded", "authorized"):
        return "succeeded"
    if charge.status == "canceled":
        return "succeeded" if charge.authorization_code is not None else "failed"
    if charge.status in ("pending", "pending_review"):
        return "pending"
    return "failed"  # failed, blocked


def as_charge(charge: models.Charge, livemode: bool) -> out.Charge:
    fraud = None
    if charge.fraud_decision is not None and charge.fraud_score is not None:
        fraud = out.FraudOutcome(
            score=charge.fraud_score,
            decision=charge.fraud_decision,
            reasons=list(charge.fraud_reasons),
            risk_level=charge.fraud_risk_level,
            rule=charge.fraud_rule,
        )
    captured = charge.amount_captured > 0
    # A released authorisation shows as refunded in full, as Stripe shows it.
    released = charge.status == "canceled" and charge.authorization_code is not None
    refunded = charge.amount if released else charge.amount_refunded
    return out.Charge(
        id=charge.id,
        amount=charge.amount,
        amount_captured=charge.amount_captured,
        amount_refunded=refunded,
        balance_transaction=None,
        captured=captured,
        paid=charge.status in ("succeeded", "authorized") or released,
        refunded=released or (captured and charge.amount_refunded >= charge.amount_captured),
        currency=charge.currency,
        source=charge.card,
        payment_method=charge.card,
        customer=charge.customer_id,
        description=charge.description,
        metadata=dict(charge.metadata_),
        status=stripe_status(charge),
        failure_code=charge.failure_code,
        failure_message=charge.failure_message,
        outcome=_outcome(charge),
        # The review the queue opened for it, kept once closed, as Stripe keeps it.
        review=charge.review_id,
        authorization_code=charge.authorization_code,
        fraud=fraud,
        livemode=livemode,
        created=unix(charge.created),
    )


def charge_json(charge: models.Charge, livemode: bool) -> dict[str, Any]:
    """The charge's JSON (its refunds only when expanded, by the charge routes)."""
    return as_charge(charge, livemode).model_dump(mode="json", exclude={"refunds"})


def as_refund(refund: models.Refund, livemode: bool) -> out.Refund:
    return out.Refund(
        id=refund.id,
        amount=refund.amount,
        charge=refund.charge_id,
        currency=refund.currency,
        reason=refund.reason,
        metadata=dict(refund.metadata_),
        status=refund.status,
        failure_code=refund.failure_code,
        failure_message=refund.failure_message,
        livemode=livemode,
        created=unix(refund.created),
    )


def as_customer(customer: models.Customer, livemode: bool) -> out.Customer:
    return out.Customer(
        id=customer.id,
        email=customer.email,
        name=customer.name,
        description=customer.description,
        metadata=dict(customer.metadata_),
        default_source=customer.default_card,
        livemode=livemode,
        created=unix(customer.created),
    )


def as_card(card: models.CustomerCard, livemode: bool) -> out.Card:
    return out.Card(
        id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        fingerprint=card.fingerprint,
        customer=card.customer_id,
        livemode=livemode,
    )


def as_vault_card(card: VaultCard, customer: str | None) -> out.Card:
    """A card token as the vault describes it, with the customer holding it (if any)."""
    return out.Card(
        id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        fingerprint=card.fingerprint,
        customer=customer,
        livemode=card.livemode,
    )


def as_event(event: models.Event, livemode: bool) -> out.Event:
    return out.Event(
        id=event.id,
        type=event.type,
        data=event.data,
        livemode=livemode,
        created=unix(event.created),
    )


def as_endpoint(
    endpoint: models.WebhookEndpoint, livemode: bool, secret: str | None = None
) -> out.WebhookEndpoint:
    """The endpoint; its `secret` only as it is made or rolled (left out of its body else)."""
    return out.WebhookEndpoint(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        enabled_events=list(endpoint.enabled_events),
        status=endpoint.status,
        secret=secret,
        livemode=livemode,
        created=unix(endpoint.created),
    )


def as_delivery(
    delivery: models.WebhookDelivery, event_type: str, livemode: bool
) -> out.WebhookDelivery:
    return out.WebhookDelivery(
        id=delivery.id,
        endpoint=delivery.endpoint_id,
        event=delivery.event_id,
        event_type=event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt=maybe_unix(delivery.next_attempt_at),
        last_attempt=maybe_unix(delivery.last_attempt_at),
        last_response_status=delivery.last_response_status,
        last_error=delivery.last_error,
        livemode=livemode,
        created=unix(delivery.created),
    )


def as_marketplace(marketplace: models.Marketplace, livemode: bool) -> out.Marketplace:
    return out.Marketplace(
        id=marketplace.id,
        name=marketplace.name,
        livemode=livemode,
        created=unix(marketplace.created),
    )


def as_review(review: models.Review, charge: models.Charge, livemode: bool) -> out.Review:
    return out.Review(
        id=review.id,
        charge=review.charge_id,
        open=review.open,
        reason=review.reason,
        rule=review.rule_id,
        closed_reason=review.closed_reason,
        amount=charge.amount,
        currency=charge.currency,
        livemode=livemode,
        created=unix(review.created),
        closed=maybe_unix(review.closed_at),
    )


def refund_json(refund: models.Refund, livemode: bool) -> dict[str, Any]:
    return body(as_refund(refund, livemode))


def customer_json(customer: models.Customer, livemode: bool) -> dict[str, Any]:
    return body(as_customer(customer, livemode))


def event_json(event: models.Event, livemode: bool) -> dict[str, Any]:
    return body(as_event(event, livemode))


# What Stripe leaves out of an object while it holds nothing: a charge's `refunds` (there
# with expand[]=refunds), an endpoint's `secret` (shown as it is made or rolled, never after).
OMITTED_WHEN_NULL = {"charge": frozenset({"refunds"}), "webhook_endpoint": frozenset({"secret"})}


def body(resource: BaseModel) -> dict[str, Any]:
    """A resource as its JSON body, expanded objects and lists included."""
    shown: dict[str, Any] = _omitted(resource.model_dump(mode="json"))
    return shown


def _omitted(value: Any) -> Any:
    if isinstance(value, dict):
        hidden = OMITTED_WHEN_NULL.get(str(value.get("object")), frozenset())
        return {k: _omitted(v) for k, v in value.items() if not (k in hidden and v is None)}
    if isinstance(value, list):
        return [_omitted(item) for item in value]
    return value
