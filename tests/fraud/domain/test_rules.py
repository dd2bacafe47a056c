from hypothesis import given
from hypothesis import strategies as st

from fraud.domain.rules import BLOCK_AT, REVIEW_AT, Facts, assess


def facts(**changes: object) -> Facts:
    base = {
        "livemode": False,
        "bin": "424242",
        "last4": "4242",
        "amount": 1000,
        "card_charges_last_minute": 1,
    }
    return Facts(**{**base, **changes})  # type: ignore[arg-type]


def test_ordinary_charge_is_allowed_with_no_reasons() -> None:
    verdict = assess(facts())
    assert (verdict.decision, verdict.score, verdict.reasons) == ("allow", 0, ())


def test_the_always_blocked_test_card_is_blocked_in_test_mode() -> None:
    verdict = assess(facts(bin="410000", last4="0019"))
    assert verdict.decision == "block"
    assert verdict.reasons == ("test_card_always_blocked",)


def test_the_review_test_card_is_held_for_review() -> None:
    assert assess(facts(bin="400000", last4="4954")).decision == "review"


def test_test_card_rules_do_not_apply_in_live_mode() -> None:
    assert assess(facts(livemode=True, bin="410000", last4="0019")).decision == "allow"


def test_card_velocity_first_reviews_then_blocks() -> None:
    assert assess(facts(card_charges_last_minute=5)).decision == "allow"
    assert assess(facts(card_charges_last_minute=6)).decision == "review"
    assert assess(facts(card_charges_last_minute=11)).decision == "block"


@given(
    livemode=st.booleans(),
    bin=st.from_regex(r"\A[0-9]{6}\Z"),
    last4=st.from_regex(r"\A[0-9]{4}\Z"),
    amount=st.integers(1, 99_999_999),
    count=st.integers(1, 1000),
)
def test_score_is_bounded_and_decides_by_thresholds(
    livemode: bool, bin: str, last4: str, amount: int, count: int
) -> None:
    verdict = assess(Facts(livemode, bin, last4, amount, count))
    assert 0 <= verdict.score <= 100
    expected = (
        "block"
        if verdict.score >= BLOCK_AT
        else "review"
        if verdict.score >= REVIEW_AT
        else "allow"
    )
    assert verdict.decision == expected
    assert (verdict.score == 0) == (verdict.reasons == ())
