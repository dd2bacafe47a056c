"""`strongroom fraud …`: offline tools over the fraud service's recorded decisions."""

from __future__ import annotations

from pathlib import Path

import click

from fraud.backtest import backtest, parse_since, read_rules, table
from fraud.rules.errors import RuleInvalid
from fraud.rules.ruleset import Ruleset
from fraud.store.db import make_engine, session_factory
from fraud.store.models import RulesetState


@click.group("fraud")
def fraud_group() -> None:
    """Fraud rules: backtests of a draft ruleset."""


@fraud_group.command("backtest")
@click.option("--marketplace", required=True, help="The marketplace id (mkt_…).")
@click.option(
    "--rules",
    "rules_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The draft ruleset: one rule a line.",
)
@click.option("--since", default="30d", show_default=True, help="How far back: 30d, 12h, 90m.")
@click.option("--mode", type=click.Choice(["live", "test"]), default="live", show_default=True)
@click.option("--review-at", type=click.IntRange(1, 100), help="Draft threshold (default: live's).")
@click.option("--block-at", type=click.IntRange(1, 101), help="Draft threshold (default: live's).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path("var"), show_default=True)
@click.option(
    "--fraud-database-url",
    envvar="STRONGROOM_FRAUD_DATABASE_URL",
    help="Default: SQLite in the data dir.",
)
@click.option("--api-database-url", help="The mode's API database, for refunds (default: SQLite).")
def fraud_backtest(
    marketplace: str,
    rules_file: Path,
    since: str,
    mode: str,
    review_at: int | None,
    block_at: int | None,
    data_dir: Path,
    fraud_database_url: str | None,
    api_database_url: str | None,
) -> None:
    """Replay recorded assessments under a draft ruleset, beside the live one."""
    try:
        start = parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    fraud_url = fraud_database_url or f"sqlite:///{data_dir / 'fraud' / 'fraud.db'}"
    api_db = data_dir / f"api-{mode}" / "api.db"
    api_url = api_database_url or (f"sqlite:///{api_db}" if api_db.exists() else None)
    engine = make_engine(fraud_url)
    api_engine = make_engine(api_url) if api_url else None
    scope = f"{mode}:{marketplace}"
    try:
        with session_factory(engine)() as session:
            state = session.get(RulesetState, scope)
            try:
                rules = read_rules(rules_file.read_text().splitlines(), session, scope)
            except RuleInvalid as exc:
                raise click.ClickException(f"{rules_file}: {exc.source!r}: {exc.message}") from None
            draft = Ruleset(
                version=0,
                rules=tuple(rules),
                review_at=review_at or (state.review_at if state else 65),
                block_at=block_at or (state.block_at if state else 75),
            )
            tallies, charges, frauds = backtest(session, scope, draft, start, api_engine)
    finally:
        engine.dispose()
        if api_engine is not None:
            api_engine.dispose()
    for line in table(tallies, charges, frauds):
        click.echo(line)
