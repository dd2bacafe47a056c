"""POST /v1/approvals: a fresh clearance to capture a held charge, or a reason why not."""

import base64
import json
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from fraud.app import create_app
from fraud.store.models import Decision
from fraud.velocity.memory import MemoryVelocity
from tests.fraud.conftest import KEY, TEST, assessment, fraud_settings, services_of


def approval(charge: str = "ch_held000001", amount: int = 500) -> dict[str, object]:
    return {
        "charge_id": charge,
        "marketplace": "mkt_abcdefgh",
        "card": "card_abcdefgh",
        "amount": amount,
        "currency": "usd",
    }


def held(client: TestClient, charge: str = "ch_held000001") -> None:
    client.post("/v1/fraud/rules", json={"predicate": "review if :amount: >= 500"}, headers=TEST)
    answer = client.post("/v1/assessments", json=assessment(charge=charge), headers=TEST).json()
    assert answer["decision"] == "review"


def payload(clearance: dict[str, str]) -> dict[str, object]:
    raw = base64.urlsafe_b64decode(clearance["payload"] + "==")
    signature = base64.urlsafe_b64decode(clearance["signature"] + "==")
    KEY.public_key().verify(signature, raw)  # raises unless fraud signed exactly these bytes
    body: dict[str, object] = json.loads(raw)
    return body


def test_a_held_charge_gets_a_signed_clearance_for_exactly_it_and_the_approval_is_recorded(
    tmp_path: Path,
) -> None:
    app = create_app(fraud_settings(tmp_path), MemoryVelocity())
    with TestClient(app) as client:
        held(client)
        answer = client.post(
            "/v1/approvals",
            json=approval(),
            headers={**TEST, "strongroom-actor": "review:approved"},
        )
        assert answer.status_code == 200, answer.text
        body = payload(answer.json()["clearance"])
        assert {k: v for k, v in body.items() if k != "expires_at"} == {
            "charge_id": "ch_held000001",
            "card": "card_abcdefgh",
            "bin": "424242",
            "last4": "4242",
            "fingerprint": "fp1",
            "marketplace": "mkt_abcdefgh",
            "amount": 500,
            "currency": "usd",
            "livemode": False,
            "decision": "allow",
        }
        services_of(client).assessor.decisions.flush()
        with services_of(client).sessions() as session:
            rows = session.scalars(select(Decision).order_by(Decision.id)).all()
        assert [(r.ruleset, r.decision) for r in rows] == [
            ("live", "review"),
            ("approval", "allow"),
        ]
        assert rows[1].reason == "Approved by review:approved"


def test_no_clearance_for_a_charge_not_held_or_not_as_held(client: TestClient) -> None:
    allowed = client.post("/v1/assessments", json=assessment(charge="ch_allowed01"), headers=TEST)
    assert allowed.json()["decision"] == "allow"
    held(client)
    for body in (
        approval("ch_allowed01"),  # allowed, never held
        approval("ch_unknown01"),  # never assessed
        approval(amount=400),  # not the amount held
    ):
        answer = client.post("/v1/approvals", json=body, headers=TEST)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "approval_refused")
    live = client.post(
        "/v1/approvals", json=approval(), headers={**TEST, "authorization": "Bearer cred-live"}
    )
    assert live.status_code == 400  # the test stack's hold is not the live stack's


def test_no_clearance_once_the_card_is_blocked_or_a_rule_now_blocks_it(client: TestClient) -> None:
    held(client, "ch_held000001")
    held(client, "ch_held000002")
    lists = client.get("/v1/fraud/value_lists", headers=TEST).json()["data"]
    blocked = next(v["id"] for v in lists if v["alias"] == "blocked_cards")
    client.post(
        "/v1/fraud/value_list_items", json={"value_list": blocked, "value": "fp1"}, headers=TEST
    )
    answer = client.post("/v1/approvals", json=approval("ch_held000001"), headers=TEST)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "approval_refused")
    assert "@blocked_cards" in answer.json()["error"]["message"]
    items = client.get(f"/v1/fraud/value_lists/{blocked}", headers=TEST).json()
    item = items["list_items"]["data"][0]["id"]
    client.delete(f"/v1/fraud/value_list_items/{item}", headers=TEST)
    assert client.post("/v1/approvals", json=approval("ch_held000002"), headers=TEST).is_success
    client.post("/v1/fraud/rules", json={"predicate": "block if :amount: >= 500"}, headers=TEST)
    answer = client.post("/v1/approvals", json=approval("ch_held000002"), headers=TEST)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "approval_refused")
    assert "block if :amount: >= 500" in answer.json()["error"]["message"]
