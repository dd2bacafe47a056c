"""Recorded decisions: what every assessment saw and decided, for audits and backtests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fraud.rules.ruleset import Outcome
from fraud.store.models import Decision


def record_decision(
    session: Session,
    scope: str,
    charge_id: str,
    version: int,
    outcome: Outcome,
    values: dict[str, Any],
    ruleset: str = "live",
) -> None:
    session.add(
        Decision(
            scope=scope,
            charge_id=charge_id,
            ruleset=ruleset,
            ruleset_version=version,
            decision=outcome.decision,
            score=outcome.score,
            rule_id=outcome.rule.id if outcome.rule else None,
            reason=outcome.reason,
            results=[
                {"rule": r.rule, "action": r.action, "matched": r.matched} for r in outcome.results
            ],
            attributes={k: v for k, v in values.items() if v is not None},
        )
    )
