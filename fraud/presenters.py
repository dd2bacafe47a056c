"""Rows of the fraud store to the JSON a merchant reads through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fraud.store.models import (
    DraftRuleset,
    Rule,
    RuleChange,
    RulesetState,
    ValueList,
    ValueListItem,
)


def unix(moment: dt.datetime) -> int:
    if moment.tzinfo is None:  # SQLite hands back naive datetimes, which are UTC here
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def rule_json(rule: Rule, livemode: bool) -> dict[str, Any]:
    return {
        "id": rule.id,
        "object": "fraud.rule",
        "action": rule.action,
        "predicate": rule.predicate,
        "description": rule.description,
        "enabled": rule.enabled,
        "deleted": rule.deleted,
        "created": unix(rule.created),
        "updated": unix(rule.updated),
        "livemode": livemode,
    }


def change_json(change: RuleChange) -> dict[str, Any]:
    return {
        "object": "fraud.rule_change",
        "version": change.version,
        "rule": change.rule_id,
        "change": change.change,
        "predicate": change.predicate,
        "enabled": change.enabled,
        "actor": change.actor,
        "created": unix(change.created),
    }


def thresholds_json(state: RulesetState, livemode: bool) -> dict[str, Any]:
    return {
        "object": "fraud.settings",
        "ruleset_version": state.version,
        "review_at": state.review_at,
        "block_at": state.block_at,
        "review_timeout_seconds": state.review_timeout_seconds,
        "review_timeout_action": state.review_timeout_action,
        "livemode": livemode,
    }


def item_json(item: ValueListItem, livemode: bool) -> dict[str, Any]:
    return {
        "id": item.id,
        "object": "fraud.value_list_item",
        "value": item.value,
        "value_list": item.list_id,
        "created_by": item.created_by,
        "created": unix(item.created),
        "livemode": livemode,
    }


def list_json(
    value_list: ValueList, livemode: bool, items: list[ValueListItem] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": value_list.id,
        "object": "fraud.value_list",
        "alias": value_list.alias,
        "name": value_list.name,
        "item_type": value_list.item_type,
        "created_by": value_list.created_by,
        "created": unix(value_list.created),
        "livemode": livemode,
    }
    if items is not None:
        body["list_items"] = {"object": "list", "data": [item_json(i, livemode) for i in items]}
    return body


def draft_json(draft: DraftRuleset, livemode: bool) -> dict[str, Any]:
    return {
        "id": draft.id,
        "object": "fraud.ruleset",
        "name": draft.name,
        "rules": list(draft.predicates),
        "review_at": draft.review_at,
        "block_at": draft.block_at,
        "shadow": draft.shadow,
        "created_by": draft.created_by,
        "created": unix(draft.created),
        "livemode": livemode,
    }
