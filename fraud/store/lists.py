"""Value lists of a scope and their items: `@alias` in a rule names one."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fraud.facts import canonical_ip
from fraud.ids import new_id
from fraud.store.models import Rule, ValueList, ValueListItem
from fraud.store.scopes import scope_state
from servicekit import NotFound, ServiceError

ALIAS = re.compile(r"[a-z][a-z0-9_]{0,62}")
ITEM_TYPES = (
    "card_fingerprint",
    "card_bin",
    "email",
    "email_domain",
    "ip_address",
    "customer_id",
    "string",
)


def normalised(item_type: str, value: str) -> str:
    """The value as attributes carry it (lower-case emails, canonical IPs), or a 400."""
    value = value.strip()
    if not value or len(value) > 800:
        raise ServiceError("An item is 1 to 800 characters.", param="value")
    if item_type in ("email", "email_domain"):
        value = value.lower()
    if item_type == "card_bin" and not (len(value) == 6 and value.isascii() and value.isdigit()):
        raise ServiceError("A card_bin item is six ASCII digits.", param="value")
    if item_type == "ip_address":
        try:
            value = str(canonical_ip(value))
        except ValueError:
            raise ServiceError("Not an IP address.", param="value") from None
    return value


def all_lists(session: Session, scope: str) -> list[ValueList]:
    scope_state(session, scope)
    return list(
        session.scalars(select(ValueList).where(ValueList.scope == scope).order_by(ValueList.alias))
    )


def get_list(session: Session, scope: str, list_id: str) -> ValueList:
    row = session.get(ValueList, list_id)
    if row is None or row.scope != scope:
        raise NotFound(f"No such value list: '{list_id}'.", param="id")
    return row


def create_list(
    session: Session, scope: str, alias: str, name: str, item_type: str, actor: str
) -> ValueList:
    if not ALIAS.fullmatch(alias):
        raise ServiceError(
            "An alias is a lower-case letter, then letters, digits, '_'.", param="alias"
        )
    if item_type not in ITEM_TYPES:
        raise ServiceError(f"item_type is one of {', '.join(ITEM_TYPES)}.", param="item_type")
    state = scope_state(session, scope)
    if session.scalars(
        select(ValueList).where(ValueList.scope == scope, ValueList.alias == alias)
    ).first():
        raise ServiceError(
            f"A value list @{alias} exists already.",
            code="alias_taken",
            param="alias",
            status_code=409,
        )
    row = ValueList(
        id=new_id("rsl"), scope=scope, alias=alias, name=name, item_type=item_type, created_by=actor
    )
    session.add(row)
    session.flush()  # the defaults (created) are set
    state.lists_version += 1
    return row


def delete_list(session: Session, scope: str, list_id: str) -> ValueList:
    """Refused while a rule names it: the rule would otherwise fail every assessment."""
    row = get_list(session, scope, list_id)
    users = [
        r.id
        for r in session.scalars(select(Rule).where(Rule.scope == scope, Rule.deleted.is_(False)))
        if re.search(rf"@{row.alias}\b", r.predicate)
    ]
    if users:
        raise ServiceError(
            f"@{row.alias} is used by {', '.join(users)}; change those rules first.",
            code="value_list_in_use",
            status_code=409,
        )
    for item in session.scalars(select(ValueListItem).where(ValueListItem.list_id == row.id)):
        session.delete(item)
    session.delete(row)
    scope_state(session, scope).lists_version += 1
    return row


def items(session: Session, value_list: ValueList, limit: int = 1000) -> list[ValueListItem]:
    return list(
        session.scalars(
            select(ValueListItem)
            .where(ValueListItem.list_id == value_list.id)
            .order_by(ValueListItem.created.desc(), ValueListItem.id)
            .limit(limit)
        )
    )


def add_item(session: Session, scope: str, list_id: str, value: str, actor: str) -> ValueListItem:
    row = get_list(session, scope, list_id)
    item = ValueListItem(
        id=new_id("rsli"), list_id=row.id, value=normalised(row.item_type, value), created_by=actor
    )
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:
        raise ServiceError(
            f"@{row.alias} already holds that value.", code="item_exists", status_code=409
        ) from None
    scope_state(session, scope).lists_version += 1
    return item


def remove_item(session: Session, scope: str, item_id: str) -> ValueListItem:
    item = session.get(ValueListItem, item_id)
    owner = None if item is None else session.get(ValueList, item.list_id)
    if item is None or owner is None or owner.scope != scope:
        raise NotFound(f"No such value list item: '{item_id}'.", param="id")
    session.delete(item)
    scope_state(session, scope).lists_version += 1
    return item


def contents(session: Session, scope: str) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Every list of the scope: its kind and its values, for assessments."""
    kinds: dict[str, str] = {}
    values: dict[str, set[str]] = {}
    for value_list in session.scalars(select(ValueList).where(ValueList.scope == scope)):
        kinds[value_list.alias] = value_list.item_type
        values[value_list.alias] = set()
    rows = session.execute(
        select(ValueList.alias, ValueListItem.value)
        .join(ValueListItem, ValueListItem.list_id == ValueList.id)
        .where(ValueList.scope == scope)
    )
    for alias, value in rows:
        values[alias].add(value)
    return kinds, {alias: frozenset(v) for alias, v in values.items()}
