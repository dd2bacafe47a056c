from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from strongroom.checker import (
    ApiCharge,
    ApiRefund,
    Finding,
    Ledgers,
    NetworkMessage,
    check,
    counts,
)


def auth(ref: str, merchant: str = "mkt_1", **kw: object) -> NetworkMessage:
    return NetworkMessage("authorization", ref, merchant, approved=True, **kw)  # type: ignore[arg-type]


def capture(ref: str, amount: int, **kw: object) -> NetworkMessage:
    return NetworkMessage("capture", ref, "mkt_1", approved=True, amount=amount, **kw)  # type: ignore[arg-type]


def refund(ref: str, charge: str, amount: int) -> NetworkMessage:
    return NetworkMessage("refund", ref, "mkt_1", True, amount=amount, authorization=charge)


def void(ref: str) -> NetworkMessage:
    return NetworkMessage("void", ref, "mkt_1", approved=True)


def clean() -> Ledgers:
    """A captured charge with a partial refund, an authorised one, and a declined one."""
    return Ledgers(
        charges=[
            ApiCharge("ch_1", "mkt_1", "succeeded", 1000, 300, intent="i1"),
            ApiCharge("ch_2", "mkt_1", "authorized", intent="i2"),
            ApiCharge("ch_3", "mkt_1", "failed", intent="i3"),
        ],
        refunds=[ApiRefund("re_1", "ch_1", 300, "succeeded")],
        network=[
            auth("ch_1"),
            capture("ch_1", 1000),
            refund("re_1", "ch_1", 300),
            auth("ch_2"),
            NetworkMessage("authorization", "ch_3", "mkt_1", approved=False),
        ],
        vault_charges={"ch_1": "succeeded", "ch_2": "succeeded", "ch_3": "failed"},
    )


def kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.kind, f.subject) for f in findings)


def test_ledgers_that_agree_have_no_findings() -> None:
    assert check(clean()) == []


def test_replayed_messages_move_nothing() -> None:
    ledgers = clean()
    ledgers.network += [auth("ch_1", replayed=True), capture("ch_1", 1000, replayed=True)]
    assert check(ledgers) == []


def test_an_authorisation_of_no_visible_charge_is_lost() -> None:
    ledgers = clean()
    ledgers.network.append(auth("ch_9"))
    assert kinds(check(ledgers)) == [("lost", "ch_9"), ("lost", "ch_9")]


def test_a_charge_id_authorised_twice_is_doubled() -> None:
    ledgers = clean()
    ledgers.network.append(auth("ch_2"))
    assert kinds(check(ledgers)) == [("doubled", "ch_2")]


def test_two_charges_for_one_intent_are_doubled() -> None:
    ledgers = clean()
    ledgers.charges.append(ApiCharge("ch_4", "mkt_1", "authorized", intent="i2"))
    ledgers.network.append(auth("ch_4"))
    ledgers.vault_charges["ch_4"] = "succeeded"
    assert kinds(check(ledgers)) == [("doubled", "i2")]


def test_a_failed_charge_the_network_holds_is_lost_unless_voided() -> None:
    ledgers = clean()
    ledgers.charges[2] = replace(ledgers.charges[2], status="failed")
    ledgers.network.append(auth("ch_3"))
    ledgers.vault_charges["ch_3"] = "succeeded"
    assert kinds(check(ledgers)) == [("lost", "ch_3")]
    ledgers.network.append(void("ch_3"))
    assert check(ledgers) == []


def test_a_charge_the_vault_recorded_failed_while_the_network_authorised_it_is_lost() -> None:
    ledgers = clean()
    ledgers.vault_charges["ch_2"] = "failed"
    assert kinds(check(ledgers)) == [("lost", "ch_2")]


def test_captures_and_refunds_must_add_up() -> None:
    ledgers = clean()
    ledgers.network.remove(capture("ch_1", 1000))
    ledgers.network.append(capture("ch_2", 400))
    assert kinds(check(ledgers)) == [("lost", "ch_2"), ("mismatched", "ch_1")]
    ledgers = clean()
    ledgers.refunds[0] = replace(ledgers.refunds[0], status="failed")
    assert kinds(check(ledgers)) == [("lost", "re_1")]


def test_a_refund_that_released_an_authorisation_is_a_void_at_the_network() -> None:
    """Refunding an uncaptured charge releases it, as in Stripe: a succeeded refund, a
    canceled charge and a void at the network agree; without the void, or on a charge not
    canceled, the refund was never made."""
    ledgers = clean()
    ledgers.charges[1] = replace(ledgers.charges[1], status="canceled")
    ledgers.refunds.append(ApiRefund("re_2", "ch_2", 2600, "succeeded"))
    # Canceled but still held at the network: the card's hold is lost, the refund unmade.
    assert kinds(check(ledgers)) == [("lost", "ch_2"), ("mismatched", "re_2")]
    ledgers.network.append(void("ch_2"))
    assert check(ledgers) == []
    ledgers.charges[1] = replace(ledgers.charges[1], status="authorized")
    assert ("mismatched", "re_2") in kinds(check(ledgers))


def test_unfinished_work_and_a_broken_audit_log_are_reported() -> None:
    ledgers = clean()
    ledgers.charges.append(ApiCharge("ch_5", "mkt_1", "pending"))
    ledgers.refunds.append(ApiRefund("re_2", "ch_1", 100, "pending"))
    ledgers.vault_unfinished.append("ch_6 (charge)")
    ledgers.audit_problem = "audit entry 7 does not verify"
    found = check(ledgers)
    assert counts(found) == {"lost": 0, "doubled": 0, "mismatched": 0, "stuck": 3, "audit": 1}


def test_an_intent_whose_answers_were_all_lost_needs_a_visible_charge() -> None:
    ledgers = clean()
    ledgers.indeterminate = ["i1", "i9"]
    assert kinds(check(ledgers)) == [("stuck", "i9")]


@st.composite
def histories(draw: st.DrawFn) -> Ledgers:
    """A run whose ledgers agree: each charge authorised or not, captured in part or
    not, voided or refunded in parts, recorded alike by the API, the vault and the network."""
    ledgers = Ledgers([], [], [])
    for i in range(draw(st.integers(1, 6))):
        cid, amount = f"ch_{i}", draw(st.integers(1, 10_000))
        fate = draw(st.sampled_from(["declined", "authorized", "canceled", "captured"]))
        ledgers.network.append(
            auth(cid) if fate != "declined" else replace(auth(cid), approved=False)
        )
        ledgers.vault_charges[cid] = "failed" if fate == "declined" else "succeeded"
        captured = refunded = 0
        if fate == "canceled":
            ledgers.network.append(void(cid))
        if fate == "captured":
            captured = draw(st.integers(1, amount))
            ledgers.network.append(capture(cid, captured))
            for j, part in enumerate(draw(st.lists(st.integers(1, 100), max_size=3))):
                if refunded + part <= captured:
                    refunded += part
                    ledgers.refunds.append(ApiRefund(f"re_{i}_{j}", cid, part, "succeeded"))
                    ledgers.network.append(refund(f"re_{i}_{j}", cid, part))
        status = {"declined": "failed", "captured": "succeeded"}.get(fate, fate)
        ledgers.charges.append(ApiCharge(cid, "mkt_1", status, captured, refunded, f"i{i}"))
    return ledgers


@given(histories(), st.data())
def test_agreeing_ledgers_pass_and_losing_any_executed_message_is_caught(
    ledgers: Ledgers, data: st.DataObject
) -> None:
    assert check(ledgers) == []
    executed = [m for m in ledgers.network if m.approved]
    if executed:
        ledgers.network.remove(data.draw(st.sampled_from(executed)))
        assert check(ledgers) != []


def test_a_charge_left_at_a_recovery_point_in_the_api_is_stuck() -> None:
    ledgers = clean()
    ledgers.charges.append(ApiCharge("ch_6", "mkt_1", "failed", unfinished=True))
    assert [(f.kind, f.subject) for f in check(ledgers)] == [("stuck", "ch_6")]
