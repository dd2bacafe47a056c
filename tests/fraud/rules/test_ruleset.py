from fraud.rules.ruleset import CompiledRule, Ruleset, decide


def ruleset(*predicates: str, review_at: int = 65, block_at: int = 75) -> Ruleset:
    rules = tuple(CompiledRule.from_text(f"rule_{i}", p) for i, p in enumerate(predicates))
    return Ruleset(version=1, rules=rules, review_at=review_at, block_at=block_at)


LISTS = {"trusted_cards": frozenset({"fp-trusted"})}


def test_allow_wins_over_block_and_block_over_review() -> None:
    rules = ruleset(
        "review if :amount: > 0",
        "block if :amount: > 0",
        "allow if :card_fingerprint: in @trusted_cards",
    )
    trusted = decide(rules, {"amount": 5, "card_fingerprint": "fp-trusted"}, LISTS)
    assert (trusted.decision, trusted.rule and trusted.rule.id) == ("allow", "rule_2")
    other = decide(rules, {"amount": 5, "card_fingerprint": "fp-other"}, LISTS)
    assert (other.decision, other.rule and other.rule.id) == ("block", "rule_1")
    assert "block if :amount: > 0" in other.reason


def test_the_first_matching_rule_of_a_kind_is_the_one_named() -> None:
    rules = ruleset("block if :amount: > 10", "block if :amount: > 0")
    outcome = decide(rules, {"amount": 50}, LISTS)
    assert outcome.rule is not None and outcome.rule.id == "rule_0"


def test_scores_add_up_and_cross_the_marketplaces_thresholds() -> None:
    rules = ruleset("score +40 if :is_new_customer:", "score +30 if :amount: > 100", review_at=50)
    assert decide(rules, {"is_new_customer": True}, LISTS).decision == "allow"
    held = decide(rules, {"is_new_customer": True, "amount": 101}, LISTS)
    assert (held.decision, held.score, held.risk_level, held.rule) == (
        "review",
        70,
        "elevated",
        None,
    )


def test_a_score_at_block_threshold_blocks_before_review_rules() -> None:
    rules = ruleset("review if :amount: > 0", "score +80 if :amount: > 0")
    outcome = decide(rules, {"amount": 1}, LISTS)
    assert (outcome.decision, outcome.risk_level, outcome.rule) == ("block", "highest", None)
    assert "threshold 75" in outcome.reason


def test_the_score_is_clamped_and_every_rule_result_is_recorded() -> None:
    rules = ruleset("score -50 if :amount: > 0", "block if :email: = 'x'")
    outcome = decide(rules, {"amount": 1}, LISTS)
    assert outcome.score == 0 and outcome.decision == "allow"
    assert [r.matched for r in outcome.results] == [True, None]
