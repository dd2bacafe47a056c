"""Rows to the public JSON shapes of api.contracts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.contracts import Charge as ChargeOut
from api.contracts import Event as EventOut
from api.contracts import FraudOutcome
from api.store.models import Charge, Event


def unix(moment: dt.datetime) -> int:
    """Seconds since the epoch; SQLite hands back naive datetimes, which are UTC here."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def charge_json(charge: Charge, livemode: bool) -> dict[str, Any]:
    fraud = None
    if charge.fraud_decision is not None and charge.fraud_score is not None:
        fraud = FraudOutcome(
            score=charge.fraud_score,
            decision=charge.fraud_decision,
            reasons=list(charge.fraud_reasons),
        )
    return ChargeOut(
        id=charge.id,
        amount=charge.amount,
        currency=charge.currency,
        card=charge.card,
        description=charge.description,
        metadata=dict(charge.metadata_),
        status=charge.status,
        failure_code=charge.failure_code,
        failure_message=charge.failure_message,
        authorization_code=charge.authorization_code,
        fraud=fraud,
        livemode=livemode,
        created=unix(charge.created),
    ).model_dump()


def event_json(event: Event, livemode: bool) -> dict[str, Any]:
    return EventOut(
        id=event.id,
        type=event.type,
        data=event.data,
        livemode=livemode,
        created=unix(event.created),
    ).model_dump()
