"""A fresh clearance to capture a charge held for review, once a person approved it.

The clearance given at assessment let the vault authorise the held charge; the capture
that approval makes is a second movement of money, so the API asks again. Fraud answers
only for a charge whose recorded live decision was `review`, for the same amount and
currency, and only if nothing learnt since forbids it: the card is not on
`@blocked_cards` now, and the live ruleset as it stands now, over the attribute values
recorded at the time (its velocity then, today's lists), does not block it. An approval
overrides a review, never a block. Each clearance given is recorded as a decision of
ruleset `approval`, with the person who approved. Fail closed: any part failing is a
503 and the API captures nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fraud.assessor import Assessor, FraudUnavailable
from fraud.contracts import ApprovalRequest, Clearance
from fraud.rules.ruleset import Outcome, decide
from fraud.store.decisions import decision_row
from fraud.store.models import Decision
from servicekit import ServiceError

log = logging.getLogger("fraud.approvals")

APPROVAL = "approval"  # the `ruleset` of a decision recording an approved review


class ApprovalRefused(ServiceError):
    """This capture may not run: the API keeps the review open and says why."""

    code = "approval_refused"


def _held_decision(sessions: sessionmaker[Session], scope: str, charge_id: str) -> Decision | None:
    with sessions() as session:
        return session.scalars(
            select(Decision)
            .where(
                Decision.scope == scope,
                Decision.charge_id == charge_id,
                Decision.ruleset == "live",
            )
            .order_by(Decision.id.desc())
            .limit(1)
        ).one_or_none()


def approve(
    sessions: sessionmaker[Session],
    assessor: Assessor,
    body: ApprovalRequest,
    livemode: bool,
    actor: str,
) -> Clearance:
    """The clearance to capture `body.charge_id`, or ApprovalRefused naming the reason."""
    scope = f"{'live' if livemode else 'test'}:{body.marketplace}"
    try:
        held = _held_decision(sessions, scope, body.charge_id)
        if held is None:  # recorded behind the answer: it may still be in the writer's queue
            assessor.decisions.flush(timeout=5)
            held = _held_decision(sessions, scope, body.charge_id)
        loaded = assessor.rulebook.current(scope)
    except Exception as exc:
        raise FraudUnavailable("The approval could not be checked (store failed).") from exc
    if held is None or held.decision != "review":
        raise ApprovalRefused(
            f"Charge {body.charge_id} was not held for review by this marketplace's rules.",
            param="charge_id",
        )
    values: dict[str, Any] = held.attributes
    if values.get("amount") != body.amount or values.get("currency") != body.currency:
        raise ApprovalRefused("The amount or currency differs from the charge that was held.")
    fingerprint = str(values.get("card_fingerprint", ""))
    if fingerprint in loaded.lists.get("blocked_cards", frozenset()):
        raise ApprovalRefused("The card was added to @blocked_cards; reject the review instead.")
    try:
        now = decide(loaded.ruleset, values, loaded.lists)
    except Exception as exc:  # a rule that errors never lets money move
        raise FraudUnavailable("The approval could not be checked (rule failed).") from exc
    if now.decision == "block":
        raise ApprovalRefused(f"{now.reason}; reject the review instead.")
    record = Outcome("allow", now.score, now.risk_level, None, f"Approved by {actor[:200]}")
    try:
        assessor.decisions.record(
            decision_row(
                scope, body.charge_id, loaded.ruleset.version, record, values, {}, APPROVAL
            )
        )
    except Exception as exc:
        raise FraudUnavailable("The approval could not be recorded.") from exc
    log.info("review approved charge=%s scope=%s actor=%s", body.charge_id, scope, actor)
    return assessor.signer.sign(
        {
            "charge_id": body.charge_id,
            "card": body.card,
            "bin": values.get("card_bin"),
            "last4": values.get("card_last4"),
            "fingerprint": fingerprint,
            "marketplace": body.marketplace,
            "amount": body.amount,
            "currency": body.currency,
            "livemode": livemode,
        },
        now=time.time(),
    )
