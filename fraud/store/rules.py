"""Rules of a scope: create, update, disable, delete; every change is a new version."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fraud.contracts import RuleChangeKind
from fraud.ids import new_id
from fraud.rules.attributes import ListKind
from fraud.rules.check import check_rule
from fraud.rules.lint import Saved, lint_rule, lint_thresholds
from fraud.rules.nodes import Action
from fraud.rules.parser import parse_rule
from fraud.store.models import Decision, Rule, RuleChange, ValueList, utcnow
from fraud.store.scopes import scope_state
from servicekit import NotFound, ServiceError


def list_kinds(session: Session, scope: str) -> dict[str, ListKind]:
    rows = session.execute(
        select(ValueList.alias, ValueList.item_type).where(ValueList.scope == scope)
    )
    return {alias: item_type for alias, item_type in rows}


def checked_action(session: Session, scope: str, predicate: str) -> Action:
    """The rule's action, once it parses and type-checks (RuleInvalid, a 400, if not)."""
    rule = parse_rule(predicate)
    check_rule(rule, list_kinds(session, scope), predicate)
    return rule.action


def live_rules(session: Session, scope: str) -> list[Rule]:
    """The scope's rules in the order they were created (the order Radar applies)."""
    return list(
        session.scalars(
            select(Rule)
            .where(Rule.scope == scope, Rule.deleted.is_(False))
            .order_by(Rule.created, Rule.id)
        )
    )


def get_rule(session: Session, scope: str, rule_id: str) -> Rule:
    rule = session.get(Rule, rule_id)
    if rule is None or rule.scope != scope or rule.deleted:
        raise NotFound(f"No such rule: '{rule_id}'.", param="id")
    return rule


def _record(session: Session, scope: str, rule: Rule, change: RuleChangeKind, actor: str) -> None:
    state = scope_state(session, scope)
    state.version += 1
    session.add(
        RuleChange(
            scope=scope,
            version=state.version,
            rule_id=rule.id,
            change=change,
            predicate=rule.predicate,
            enabled=rule.enabled,
            actor=actor,
        )
    )


# Every rule of a scope is evaluated on each of its charges, in the one fraud service all
# scopes share: a bound on them is a bound on what one merchant's rules cost the others.
MAX_RULES = 200


def create_rule(
    session: Session, scope: str, predicate: str, description: str | None, actor: str
) -> Rule:
    scope_state(session, scope)  # the default lists exist before the rule is checked
    now = utcnow()
    rule = Rule(
        id=new_id("rule"),
        scope=scope,
        action=checked_action(session, scope, predicate),
        predicate=predicate,
        description=description,
        enabled=True,
        deleted=False,
        created=now,
        updated=now,
    )
    session.add(rule)
    session.flush()
    # Counted with the write held (SQLite locks no row FOR UPDATE): two at once cannot
    # both count below the limit.
    live = select(func.count()).select_from(Rule)
    if (session.scalar(live.where(Rule.scope == scope, Rule.deleted.is_(False))) or 0) > MAX_RULES:
        raise ServiceError(
            f"A scope has at most {MAX_RULES} rules: delete one first.", code="rule_limit_reached"
        )
    _record(session, scope, rule, "created", actor)
    return rule


def update_rule(
    session: Session,
    scope: str,
    rule_id: str,
    actor: str,
    predicate: str | None = None,
    enabled: bool | None = None,
    description: str | None = None,
) -> Rule:
    rule = get_rule(session, scope, rule_id)
    if predicate is not None:
        rule.action = checked_action(session, scope, predicate)
        rule.predicate = predicate
    if description is not None:
        rule.description = description
    change: RuleChangeKind = "updated"
    if enabled is not None and enabled != rule.enabled:
        rule.enabled = enabled
        change = "enabled" if enabled else "disabled"
    rule.updated = utcnow()
    _record(session, scope, rule, change, actor)
    return rule


def delete_rule(session: Session, scope: str, rule_id: str, actor: str) -> Rule:
    rule = get_rule(session, scope, rule_id)
    rule.deleted = True
    rule.updated = utcnow()
    _record(session, scope, rule, "deleted", actor)
    return rule


def history(session: Session, scope: str, limit: int = 100) -> list[RuleChange]:
    return list(
        session.scalars(
            select(RuleChange)
            .where(RuleChange.scope == scope)
            .order_by(RuleChange.version.desc())
            .limit(limit)
        )
    )


def seen_attributes(
    session: Session, scope: str, days: int = 30, sample: int = 1000
) -> set[str] | None:
    """Attributes present in the scope's recent decisions; None when there are none."""
    since = utcnow() - dt.timedelta(days=days)
    rows = session.scalars(
        select(Decision.attributes)
        .where(Decision.scope == scope, Decision.ruleset == "live", Decision.created >= since)
        .order_by(Decision.id.desc())
        .limit(sample)
    ).all()
    if not rows:
        return None
    return {name for attributes in rows for name in attributes}


def lint(session: Session, scope: str, rule: Rule) -> list[str]:
    """The linter's warnings for `rule` among the scope's enabled rules and thresholds."""
    enabled = [r for r in live_rules(session, scope) if r.enabled]
    position = next((i for i, r in enumerate(enabled) if r.id == rule.id), len(enabled))
    earlier = [Saved(r.id, r.predicate) for r in enabled[:position]]
    later = [Saved(r.id, r.predicate) for r in enabled[position + 1 :]]
    warnings = lint_rule(rule.predicate, earlier, later, seen_attributes(session, scope))
    scoring = [r.predicate for r in enabled if r.action == "score"]
    if rule.action == "score" and scoring:
        state = scope_state(session, scope)
        warnings += lint_thresholds(scoring, state.review_at, state.block_at)
    return warnings
