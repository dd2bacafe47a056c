"""The backtest command on a data dir of 1,200 recorded assessments, some fraudulent."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from click.testing import CliRunner

from api.store.db import make_engine as api_engine
from api.store.db import migrate as api_migrate
from api.store.db import session_factory as api_sessions
from api.store.models import Charge, Refund
from fraud.app import build_services
from fraud.contracts import AssessmentRequest
from fraud.metrics import Metrics
from fraud.store import lists, rules
from fraud.velocity.memory import MemoryVelocity
from strongroom.cli import main
from tests.fraud.conftest import fraud_settings

MARKETPLACE = "mkt_backtestshop"
SCOPE = f"live:{MARKETPLACE}"


def scripted_run(data_dir: Path, n: int = 1200) -> set[str]:
    """`n` live charges assessed under one rule; a ring of ten cards runs fast and is fraud.
    Returns the fraudulent charges, refunded as such in the live API database."""
    ctx, engine = build_services(fraud_settings(data_dir), Metrics(), MemoryVelocity())
    with ctx.sessions.begin() as session:
        rules.create_rule(session, SCOPE, "review if :amount: >= 90000", None, "test")
        blocked = next(v for v in lists.all_lists(session, SCOPE) if v.alias == "blocked_cards")
        lists.add_item(session, SCOPE, blocked.id, "fp-ring-0", "test")
    rng = random.Random(7)
    fraud: set[str] = set()
    charges = []
    for i in range(n):
        ring = rng.random() < 0.08
        card = f"fp-ring-{rng.randrange(10)}" if ring else f"fp-{rng.randrange(900)}"
        charge_id = f"ch_backtest{i:08d}"
        amount = rng.choice([1500, 4000, 25000, 95000])
        body = {
            "charge_id": charge_id,
            "marketplace": MARKETPLACE,
            "amount": amount,
            "currency": "usd",
            "card": {
                "id": "card_backtestcard",
                "brand": "visa",
                "bin": "424242",
                "last4": "4242",
                "fingerprint": card,
            },
        }
        ctx.assessor.assess(AssessmentRequest.model_validate(body), True)
        charges.append((charge_id, amount))
        if ring and rng.random() < 0.9:
            fraud.add(charge_id)
    ctx.assessor.decisions.close()
    engine.dispose()
    engine = api_engine(f"sqlite:///{data_dir / 'api-live' / 'api.db'}")
    (data_dir / "api-live").mkdir(exist_ok=True)
    api_migrate(engine)
    now = dt.datetime.now(dt.UTC)
    with api_sessions(engine).begin() as session:
        for charge_id, amount in charges:
            session.add(
                Charge(
                    id=charge_id,
                    marketplace_id=MARKETPLACE,
                    card="card_backtestcard",
                    amount=amount,
                    currency="usd",
                    status="succeeded",
                    metadata_={},
                    fraud_reasons=[],
                    amount_captured=amount,
                    created=now,
                )
            )
        session.flush()
        for k, charge_id in enumerate(sorted(fraud)):
            amount = dict(charges)[charge_id]
            session.add(
                Refund(
                    id=f"re_backtest{k:08d}",
                    marketplace_id=MARKETPLACE,
                    charge_id=charge_id,
                    amount=amount,
                    currency="usd",
                    reason="fraudulent",
                    metadata_={},
                    status="succeeded",
                    created=now,
                )
            )
    engine.dispose()
    return fraud


def test_the_backtest_prints_live_and_draft_side_by_side_with_precision_and_recall(
    tmp_path: Path,
) -> None:
    frauds = scripted_run(tmp_path)
    draft = tmp_path / "draft.rules"
    draft.write_text(
        "# a draft: stop fast cards, hold large ones\n"
        "block if :card_velocity_24h: > 40\n"
        "block if :card_fingerprint: in @blocked_cards\n"
        "review if :amount: >= 90000\n"
    )
    result = CliRunner().invoke(
        main,
        ["fraud", "backtest", "--marketplace", MARKETPLACE, "--rules", str(draft),
         "--since", "30d", "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"1200 charges, {len(frauds)} refunded as fraudulent"
    live, candidate = lines[2].split(), lines[3].split()
    assert (live[0], candidate[0]) == ("live", "draft")
    # allow, review, block counts add up to every charge in both rows
    assert sum(int(live[i]) for i in (1, 3, 5)) == 1200
    assert sum(int(candidate[i]) for i in (1, 3, 5)) == 1200
    assert int(candidate[5]) > int(live[5]) == 0  # the live rule never blocks; the draft does
    live_recall, draft_recall = float(live[-2].rstrip("%")), float(candidate[-2].rstrip("%"))
    assert draft_recall > live_recall
    print("\n".join(lines))


def test_a_draft_rule_that_does_not_check_is_refused_naming_it(tmp_path: Path) -> None:
    scripted_run(tmp_path, n=5)
    draft = tmp_path / "draft.rules"
    draft.write_text("block if :card_speed: > 3\n")
    result = CliRunner().invoke(
        main,
        ["fraud", "backtest", "--marketplace", MARKETPLACE, "--rules", str(draft),
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "unknown attribute :card_speed:" in result.output
