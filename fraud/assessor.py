"""One assessment: the charge's attributes and velocity, the ruleset's decision, the
record of it, and a clearance when the charge may run.

Fail closed: if velocity, the store or a rule fails, the assessment is refused
(503 `fraud_unavailable`) and the API refuses the charge; nothing is ever allowed for
want of an answer. Each such refusal is counted and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fraud.contracts import Assessment, AssessmentRequest, RuleRef
from fraud.facts import charge_values
from fraud.metrics import Metrics
from fraud.rulebook import Loaded, Rulebook
from fraud.rules.ruleset import Outcome, decide, risk_level
from fraud.signing import ClearanceSigner
from fraud.store.decisions import DecisionLog, decision_row, memberships
from fraud.testcards import FIXED_OUTCOMES
from fraud.velocity import Observation, VelocityStore
from servicekit import ServiceError

log = logging.getLogger("fraud")


@dataclass(slots=True)
class _Sighting:
    """One assessment before its velocity is known."""

    body: AssessmentRequest
    livemode: bool
    mode: str
    scope: str
    values: dict[str, Any]
    observation: Observation
    started: float


class FraudUnavailable(ServiceError):
    status_code = 503
    type = "api_error"
    code = "fraud_unavailable"


class Assessor:
    def __init__(
        self,
        decisions: DecisionLog,
        rulebook: Rulebook,
        velocity: VelocityStore,
        signer: ClearanceSigner,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.decisions = decisions
        self._rulebook = rulebook
        self._velocity = velocity
        self._signer = signer
        self._metrics = metrics
        self._clock = clock

    @property
    def rulebook(self) -> Rulebook:
        return self._rulebook

    @property
    def velocity(self) -> VelocityStore:
        return self._velocity

    @property
    def signer(self) -> ClearanceSigner:
        return self._signer

    def _refuse(self, cause: str, charge_id: str, exc: Exception) -> FraudUnavailable:
        self._metrics.unavailable.labels(cause).inc()
        log.error(
            "assessment refused charge=%s cause=%s error=%s", charge_id, cause, type(exc).__name__
        )
        return FraudUnavailable(f"The charge could not be screened ({cause} failed).")

    def assess(self, body: AssessmentRequest, livemode: bool) -> Assessment:
        """Assess one charge (in a thread: the velocity store and the rulebook block)."""
        sighting = self._sight(body, livemode)
        try:
            counts = self._velocity.observe(sighting.observation)
        except Exception as exc:  # Redis down, timed out, script refused: fail closed
            raise self._refuse("velocity", body.charge_id, exc) from None
        outcome, loaded = self._decide(sighting, counts, self._loaded(sighting))
        if outcome.decision == "block":
            try:
                self._velocity.record_block(*self._block_of(sighting))
            except Exception as exc:
                raise self._refuse("store", body.charge_id, exc) from None
        return self._finish(sighting, outcome, loaded)

    async def assess_async(self, body: AssessmentRequest, livemode: bool) -> Assessment:
        """`assess` on the event loop: velocity awaited; the rulebook read in a thread only
        when its copy is due for a check (at most once a `refresh_seconds` per scope)."""
        sighting = self._sight(body, livemode)
        try:
            counts = await self._velocity.observe_async(sighting.observation)
        except Exception as exc:  # Redis down, timed out, script refused: fail closed
            raise self._refuse("velocity", body.charge_id, exc) from None
        loaded = self._rulebook.cached(sighting.scope)
        if loaded is None:
            loaded = await asyncio.to_thread(self._loaded, sighting)
        outcome, loaded = self._decide(sighting, counts, loaded)
        if outcome.decision == "block":
            try:
                await self._velocity.record_block_async(*self._block_of(sighting))
            except Exception as exc:
                raise self._refuse("store", body.charge_id, exc) from None
        return self._finish(sighting, outcome, loaded)

    def _sight(self, body: AssessmentRequest, livemode: bool) -> _Sighting:
        started = time.perf_counter()
        mode = "live" if livemode else "test"
        scope = f"{mode}:{body.marketplace}"
        values = charge_values(body, livemode)
        at_ms = int(self._clock() * 1000)
        subjects = {
            "card": body.card.fingerprint,
            "customer": body.customer,
            "email": values["email"],
            "ip": values["ip_address"],
        }
        observation = Observation(
            scope,
            body.charge_id,
            at_ms,
            int(values["amount_usd"] or 0),
            subjects,  # type: ignore[arg-type]
        )
        return _Sighting(body, livemode, mode, scope, values, observation, started)

    def _loaded(self, sighting: _Sighting) -> Loaded:
        try:
            return self._rulebook.current(sighting.scope)
        except Exception as exc:
            raise self._refuse("store", sighting.body.charge_id, exc) from None

    @staticmethod
    def _block_of(sighting: _Sighting) -> tuple[str, str, str, int]:
        body = sighting.body
        return sighting.scope, body.card.fingerprint, body.charge_id, sighting.observation.at_ms

    def _decide(
        self, sighting: _Sighting, counts: dict[str, int], loaded: Loaded
    ) -> tuple[Outcome, Loaded]:
        """The decision on the charge's values and velocity, recorded."""
        body, livemode, values = sighting.body, sighting.livemode, sighting.values
        values.update(counts)
        if body.customer is not None:
            values["is_new_customer"] = values.get("customer_velocity_7d") == 0
        fixed = None if livemode else FIXED_OUTCOMES.get((body.card.bin, body.card.last4))
        try:
            if fixed is not None:
                decision, score, reason = fixed
                level = risk_level(score, loaded.ruleset)
                outcome = Outcome(decision, score, level, None, reason, (), "test_card")
            else:
                outcome = decide(loaded.ruleset, values, loaded.lists)
        except Exception as exc:  # a rule that errors never lets a charge through
            raise self._refuse("rule", body.charge_id, exc) from None
        try:
            self.decisions.record(
                decision_row(
                    sighting.scope,
                    body.charge_id,
                    loaded.ruleset.version,
                    outcome,
                    values,
                    memberships(values, loaded.lists),
                )
            )
        except Exception as exc:
            raise self._refuse("store", body.charge_id, exc) from None
        return outcome, loaded

    def _finish(self, sighting: _Sighting, outcome: Outcome, loaded: Loaded) -> Assessment:
        body = sighting.body
        if outcome.decided_by != "test_card":
            self._shadow(sighting.scope, body.charge_id, loaded, sighting.values)
        self._metrics.decided(sighting.mode, outcome.decision)
        self._metrics.latency.observe(time.perf_counter() - sighting.started)
        log.info(
            "assessed charge=%s mode=%s version=%d score=%d decision=%s rule=%s",
            body.charge_id,
            sighting.mode,
            loaded.ruleset.version,
            outcome.score,
            outcome.decision,
            outcome.rule.id if outcome.rule else "-",
        )
        return self._answer(body, sighting.livemode, outcome, loaded.ruleset.version)

    def _shadow(self, scope: str, charge_id: str, loaded: Loaded, values: dict[str, Any]) -> None:
        """Drafts in shadow decide too, for the record only: nothing they do reaches the
        answer, so a draft that errors is logged and skipped, never a refusal."""
        for draft in loaded.shadows:
            try:
                outcome = decide(draft, values, loaded.lists)
                self.decisions.record(
                    decision_row(scope, charge_id, draft.version, outcome, values, {}, draft.id)
                )
            except Exception as exc:
                log.warning("shadow %s failed on %s: %s", draft.id, charge_id, type(exc).__name__)

    def _answer(
        self, body: AssessmentRequest, livemode: bool, outcome: Outcome, version: int
    ) -> Assessment:
        clearance = None
        # A review holds the money: its clearance says `review`, so the vault authorises
        # and holds the charge, and captures it only with the approval fraud signs once a
        # person approves (fraud/approvals.py); a reject voids it.
        if outcome.decision in ("allow", "review"):
            clearance = self._signer.sign(
                {
                    "charge_id": body.charge_id,
                    "card": body.card.id,
                    # The card as scored: the vault checks them against its record.
                    "bin": body.card.bin,
                    "last4": body.card.last4,
                    "fingerprint": body.card.fingerprint,
                    "marketplace": body.marketplace,
                    "amount": body.amount,
                    "currency": body.currency,
                    "livemode": livemode,
                },
                decision=outcome.decision,
            )
        rule = outcome.rule
        reasons = [outcome.reason] if rule or outcome.decision != "allow" else []
        return Assessment(
            score=outcome.score,
            decision=outcome.decision,
            risk_level=outcome.risk_level,
            rule=RuleRef(id=rule.id, action=rule.action, predicate=rule.predicate)
            if rule
            else None,
            reason=outcome.reason,
            decided_by=outcome.decided_by,
            reasons=reasons,
            ruleset_version=version,
            clearance=clearance,
        )
