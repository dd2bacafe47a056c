from fraud.rules.lint import Saved, lint_rule, lint_thresholds


def test_a_rule_behind_a_winning_rule_with_part_of_its_condition_is_shadowed() -> None:
    earlier = [Saved("rule_a", "block if :amount: > 100")]
    warnings = lint_rule("review if :amount: > 100 and :currency: = 'usd'", earlier)
    assert warnings == ["shadowed by rule_a (block if :amount: > 100): it can never decide"]
    allow = [Saved("rule_t", "allow if :card_fingerprint: in @trusted_cards")]
    assert lint_rule("block if :card_fingerprint: in @trusted_cards", allow)[0].startswith(
        "shadowed by rule_t"
    )


def test_one_condition_with_two_actions_is_a_contradiction() -> None:
    earlier = [Saved("rule_r", "review if :amount: > 100")]
    assert lint_rule("block if :amount: > 100", earlier) == [
        "contradicts rule_r (review if :amount: > 100)"
    ]
    assert lint_rule("block if :amount: > 200", earlier) == []


def test_a_new_rule_that_silences_a_later_one_says_so() -> None:
    later = [Saved("rule_b", "review if :amount: > 5 and :livemode:")]
    assert lint_rule("allow if :livemode:", [], later) == [
        "makes rule_b (review if :amount: > 5 and :livemode:) unable to decide"
    ]


def test_bounds_that_exclude_each_other_never_match() -> None:
    assert lint_rule("block if :amount: > 100 and :amount: < 50", []) == [
        "can never match: no :amount: meets all its bounds"
    ]
    assert lint_rule("block if :amount: > 100 and :amount: <= 101", []) == []
    assert lint_rule("block if :amount: > 100 and :amount: < 101", [])[0].startswith("can never")


def test_an_attribute_missing_from_every_recent_charge_is_named() -> None:
    warnings = lint_rule("review if :ip_country: != :card_country:", [], [], {"card_country"})
    assert warnings == [
        ":ip_country: was missing in every charge of the last 30 days,"
        " so this rule would not have matched any"
    ]


def test_a_threshold_no_score_can_reach() -> None:
    rules = [
        "score +20 if :is_new_customer:",
        "score +30 if :amount: > 5",
        "score -40 if :livemode:",
    ]
    assert lint_thresholds(rules, 40, 75) == [
        "block_at 75 is above the highest reachable score (50)"
    ]
