"""Questions an auditor asks of verified audit entries: who did what to which card, and a summary.

Entries are the vault's: {seq, time, actor, action, token, outcome, …}. A marketplace is
named by merchants' actors (`merchant:mkt_…:secret:live`), by admin outcomes
(`mkt_…:secret:live`), and owns every token it created, so a search by marketplace also finds
the charges the API stacks made on its cards.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Entry = dict[str, Any]

CARD_ACCESS = {
    "tokenize",
    "read",
    "charge",
    "capture",
    "void",
    "refund",
    "read_charge",
    "read_refund",
}
KEY_OPERATIONS = {"rotate_key", "rewrap", "retire_keys", "register_key", "expire_key"}
LIMIT_CHANGES = {"set_limit", "breaker"}
_RELATIVE = re.compile(r"([0-9]{1,6})([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, now: dt.datetime) -> dt.datetime:
    """An ISO 8601 date or time (UTC unless it says), or a span before now: 30m, 24h, 7d."""
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        return now - dt.timedelta(seconds=int(relative[1]) * _UNIT[relative[2]])
    if not text.isascii():
        raise ValueError(f"{text!r} is not a time")
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO 8601 (2026-12-01T09:00) or 24h, 7d"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def entry_time(entry: Entry) -> dt.datetime:
    return dt.datetime.fromisoformat(str(entry["time"]))


@dataclass(frozen=True)
class Query:
    """What to look for; None matches anything."""

    token: str | None = None
    marketplace: str | None = None
    action: str | None = None
    actor: str | None = None  # a whole actor, or its kind: merchant, service, operator, …
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def marketplaces_of_tokens(entries: Iterable[Entry]) -> dict[str, str]:
    """Each token's marketplace, from the merchant actor that created it."""
    owners = {}
    for entry in entries:
        if entry["action"] == "tokenize" and entry["token"]:
            parts = str(entry["actor"]).split(":")
            if parts[0] == "merchant" and len(parts) > 1:
                owners[str(entry["token"])] = parts[1]
    return owners


def search(entries: list[Entry], query: Query) -> list[Entry]:
    """The entries matching every part of `query`, oldest first."""
    owners = marketplaces_of_tokens(entries) if query.marketplace else {}
    found = []
    for entry in entries:
        actor = str(entry["actor"])
        if query.token is not None and entry["token"] != query.token:
            continue
        if query.action is not None and entry["action"] != query.action:
            continue
        if query.actor is not None and query.actor not in (actor, actor.split(":")[0]):
            continue
        if query.marketplace is not None and not _concerns(entry, query.marketplace, owners):
            continue
        when = entry_time(entry)
        if (query.since and when < query.since) or (query.until and when >= query.until):
            continue
        found.append(entry)
    return found


def _concerns(entry: Entry, marketplace: str, owners: dict[str, str]) -> bool:
    names = str(entry["actor"]).split(":") + str(entry["outcome"]).split(":")
    return marketplace in names or owners.get(str(entry["token"] or "")) == marketplace


def report(entries: list[Entry], since: dt.datetime | None) -> dict[str, Any]:
    """Card accesses, key operations, unseals, limit changes and refusals since `since`."""
    chosen = search(entries, Query(since=since))
    refusals = [e for e in chosen if str(e["outcome"]).startswith("refused:")]
    accesses = [e for e in chosen if e["action"] in CARD_ACCESS and e not in refusals]

    def listed(kinds: set[str]) -> list[Entry]:
        return [e for e in chosen if e["action"] in kinds]

    return {
        "since": since.isoformat() if since else None,
        "first": chosen[0]["time"] if chosen else None,
        "last": chosen[-1]["time"] if chosen else None,
        "entries": len(chosen),
        "card_accesses": {
            "total": len(accesses),
            "cards": len({e["token"] for e in accesses if e["token"]}),
            "by_action": dict(Counter(str(e["action"]) for e in accesses).most_common()),
            "by_actor": dict(Counter(str(e["actor"]) for e in accesses).most_common()),
        },
        "key_operations": [_brief(e) for e in listed(KEY_OPERATIONS)],
        "unseals": [_brief(e) for e in listed({"unseal"})],
        "limit_changes": [_brief(e) for e in listed(LIMIT_CHANGES)],
        "refusals": {
            "total": len(refusals),
            "by_reason": dict(
                Counter(f"{e['action']}:{str(e['outcome'])[8:]}" for e in refusals).most_common()
            ),
        },
    }


def _brief(entry: Entry) -> dict[str, Any]:
    keys = ("seq", "time", "actor", "action", "outcome")
    return {key: entry[key] for key in keys}


def format_entry(entry: Entry) -> str:
    token = entry["token"] or "-"
    return f"{entry['time']}  {entry['actor']:<34} {entry['action']:<12} {token:<28} " + str(
        entry["outcome"]
    )


def format_report(summary: dict[str, Any]) -> list[str]:
    """The report as lines of text, in the order of its JSON."""
    access = summary["card_accesses"]
    lines = [
        f"Audit report since {summary['since'] or 'the first entry'}: {summary['entries']} entries"
        + (f" ({summary['first']} to {summary['last']})" if summary["entries"] else ""),
        f"Card data accesses: {access['total']} on {access['cards']} cards",
        *(f"  {action:<14} {n}" for action, n in access["by_action"].items()),
        "  by actor:",
        *(f"    {actor:<34} {n}" for actor, n in access["by_actor"].items()),
    ]
    for title, key in (
        ("Key operations", "key_operations"),
        ("Unseals", "unseals"),
        ("Limit and breaker changes", "limit_changes"),
    ):
        lines.append(f"{title}: {len(summary[key])}")
        lines += [
            f"  {e['time']}  {e['actor']:<14} {e['action']:<12} {e['outcome']}"
            for e in summary[key]
        ]
    refusals = summary["refusals"]
    lines.append(f"Refusals: {refusals['total']}")
    lines += [f"  {reason:<40} {n}" for reason, n in refusals["by_reason"].items()]
    return lines
