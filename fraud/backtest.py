"""Backtests: recorded assessments replayed under a draft ruleset, beside what the live
ruleset decided at the time.

Each decision is judged on the attribute values it recorded and on its list memberships
as they stood then (not today's lists). Where the API later refunded a charge with reason
`fraudulent`, the charge counts as fraud, and each ruleset gets precision, recall and F1
for "stopped" (blocked or held for review).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from fraud.rules.check import check_rule
from fraud.rules.evaluate import Lists
from fraud.rules.parser import parse_rule
from fraud.rules.ruleset import CompiledRule, Ruleset, decide
from fraud.store.models import Decision
from fraud.store.rules import list_kinds

DECISIONS = ("allow", "review", "block")


def read_rules(lines: Iterable[str], session: Session, scope: str) -> list[CompiledRule]:
    """A draft ruleset: one rule a line, `#` comments; each checked as a save would."""
    rules = []
    kinds = list_kinds(session, scope)
    for number, line in enumerate(lines, 1):
        source = line.strip()
        if not source or source.startswith("#"):
            continue
        check_rule(parse_rule(source), kinds, source)
        rules.append(CompiledRule.from_text(f"line_{number}", source))
    return rules


def recorded_lists(decision: Decision, aliases: Iterable[str]) -> Lists:
    """The lists as this decision saw them: each holds the values it then held (of this
    charge; nothing else matters to its rules)."""
    values = decision.attributes
    lists = {alias: frozenset[str]() for alias in aliases}
    for alias, names in decision.memberships.items():
        lists[alias] = frozenset(str(values[name]) for name in names if name in values)
    return lists


@dataclass
class Tally:
    count: Counter[str] = field(default_factory=Counter)
    usd: Counter[str] = field(default_factory=Counter)
    true_positive: int = 0
    flagged: int = 0

    def add(self, decision: str, usd: int, fraud: bool) -> None:
        self.count[decision] += 1
        self.usd[decision] += usd
        if decision != "allow":
            self.flagged += 1
            self.true_positive += fraud

    def scores(self, frauds: int) -> tuple[float | None, float | None, float | None]:
        precision = self.true_positive / self.flagged if self.flagged else None
        recall = self.true_positive / frauds if frauds else None
        if precision is None or recall is None or precision + recall == 0:
            return precision, recall, None
        return precision, recall, 2 * precision * recall / (precision + recall)


def fraudulent_charges(api_engine: Engine | None, charge_ids: Sequence[str]) -> set[str]:
    """Charges the API refunded as fraudulent (read by SQL: fraud imports no API code)."""
    if api_engine is None or not charge_ids:
        return set()
    found: set[str] = set()
    query = text("SELECT DISTINCT charge_id FROM refunds WHERE reason = 'fraudulent'")
    with api_engine.connect() as conn:
        found = {row[0] for row in conn.execute(query)}
    return found & set(charge_ids)


def backtest(
    session: Session,
    scope: str,
    draft: Ruleset,
    since: dt.datetime,
    api_engine: Engine | None,
) -> tuple[dict[str, Tally], int, int]:
    """Tallies of the live decisions and the draft's, the number of charges and frauds."""
    rows = list(
        session.scalars(
            select(Decision)
            .where(Decision.scope == scope, Decision.ruleset == "live", Decision.created >= since)
            .order_by(Decision.id)
        )
    )
    latest: dict[str, Decision] = {}
    for row in rows:  # a retried assessment counts once: its last answer stands
        latest[row.charge_id] = row
    frauds = fraudulent_charges(api_engine, list(latest))
    aliases = list(list_kinds(session, scope))
    tallies = {"live": Tally(), "draft": Tally()}
    for charge_id, row in latest.items():
        usd = int(row.attributes.get("amount_usd") or 0)
        fraud = charge_id in frauds
        tallies["live"].add(row.decision, usd, fraud)
        outcome = decide(draft, row.attributes, recorded_lists(row, aliases))
        tallies["draft"].add(outcome.decision, usd, fraud)
    return tallies, len(latest), len(frauds)


def table(tallies: dict[str, Tally], charges: int, frauds: int) -> list[str]:
    def pct(value: float | None) -> str:
        return "   -  " if value is None else f"{value * 100:5.1f}%"

    lines = [
        f"{charges} charges, {frauds} refunded as fraudulent",
        f"{'ruleset':<8}"
        + "".join(f"{d:>9} {'USD':>12}" for d in DECISIONS)
        + f"{'precision':>11}{'recall':>8}{'F1':>8}",
    ]
    for name, tally in tallies.items():
        cells = "".join(f"{tally.count[d]:>9} {tally.usd[d] / 100:>12,.2f}" for d in DECISIONS)
        precision, recall, f1 = tally.scores(frauds)
        lines.append(f"{name:<8}{cells}{pct(precision):>11}{pct(recall):>8}{pct(f1):>8}")
    return lines


def parse_since(value: str, now: dt.datetime | None = None) -> dt.datetime:
    """`30d`, `12h` or `90m` before now."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    number, unit = value[:-1], value[-1:]
    if unit not in units or not (number.isascii() and number.isdigit()):
        raise ValueError("--since is a number and d, h or m: 30d, 12h, 90m")
    delta = dt.timedelta(**{units[unit]: int(number)})
    return (now or dt.datetime.now(dt.UTC)) - delta
