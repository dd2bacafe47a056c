"""Rows to the public JSON shapes of api.contracts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api import contracts as out
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


def charge_json(charge: models.Charge, livemode: bool) -> dict[str, Any]:
    return charge_object(charge, livemode).model_dump(mode="json", exclude={"refunds"})


def charge_object(charge: models.Charge, livemode: bool) -> out.Charge:
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


def refund_json(refund: models.Refund, livemode: bool) -> dict[str, Any]:
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
    ).model_dump(mode="json")


def customer_json(customer: models.Customer, livemode: bool) -> dict[str, Any]:
    return out.Customer(
        id=customer.id,
        email=customer.email,
        name=customer.name,
        description=customer.description,
        metadata=dict(customer.metadata_),
        default_source=customer.default_card,
        livemode=livemode,
        created=unix(customer.created),
    ).model_dump(mode="json")


def customer_card_json(card: models.CustomerCard, livemode: bool) -> dict[str, Any]:
    return out.Card(
        id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        fingerprint=card.fingerprint,
        customer=card.customer_id,
        livemode=livemode,
    ).model_dump(mode="json")


def event_json(event: models.Event, livemode: bool) -> dict[str, Any]:
    return out.Event(
        id=event.id,
        type=event.type,
        data=event.data,
        livemode=livemode,
        created=unix(event.created),
    ).model_dump(mode="json")


def endpoint_json(
    endpoint: models.WebhookEndpoint, livemode: bool, secret: str | None = None
) -> dict[str, Any]:
    body = out.WebhookEndpoint(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        enabled_events=list(endpoint.enabled_events),
        status=endpoint.status,
        secret=secret,
        livemode=livemode,
        created=unix(endpoint.created),
    ).model_dump(mode="json")
    if secret is None:
        del body["secret"]  # shown once, at creation
    return body


def delivery_json(
    delivery: models.WebhookDelivery, event_type: str, livemode: bool
) -> dict[str, Any]:
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
    ).model_dump(mode="json")


def marketplace_json(marketplace: models.Marketplace, livemode: bool) -> dict[str, Any]:
    return out.Marketplace(
        id=marketplace.id,
        name=marketplace.name,
        livemode=livemode,
        created=unix(marketplace.created),
    ).model_dump(mode="json")
