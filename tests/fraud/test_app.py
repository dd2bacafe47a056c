import base64
import json

from starlette.testclient import TestClient

from tests.fraud.conftest import LIVE, TEST, assessment


def test_allow_comes_with_a_clearance_bound_to_the_callers_mode(client: TestClient) -> None:
    response = client.post("/v1/assessments", json=assessment(), headers=LIVE)
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "allow"
    payload = json.loads(base64.urlsafe_b64decode(body["clearance"]["payload"] + "=="))
    assert payload["livemode"] is True
    # The card as scored: the vault checks these against the card's record.
    assert (payload["bin"], payload["last4"], payload["fingerprint"]) == ("424242", "4242", "fp1")


def test_the_test_cards_keep_their_outcomes_and_a_block_has_no_clearance(
    client: TestClient,
) -> None:
    blocked = client.post("/v1/assessments", json=assessment("410000", "0019"), headers=TEST).json()
    review = client.post("/v1/assessments", json=assessment("400000", "4954"), headers=TEST).json()
    assert (blocked["decision"], review["decision"]) == ("block", "review")
    assert "clearance" not in blocked
    assert "clearance" in review  # to authorise: the API holds it until a person decides
    assert "always blocked" in blocked["reason"]
    live = client.post("/v1/assessments", json=assessment("410000", "0019"), headers=LIVE).json()
    assert live["decision"] == "allow"


def test_a_test_card_outcome_is_not_changed_by_an_allow_rule(client: TestClient) -> None:
    client.post("/v1/fraud/rules", json={"predicate": "allow if :amount: > 0"}, headers=TEST)
    blocked = client.post("/v1/assessments", json=assessment("410000", "0019"), headers=TEST)
    assert blocked.json()["decision"] == "block"


def test_unknown_credential_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/assessments", json=assessment(), headers={"authorization": "Bearer nope"}
    )
    assert response.status_code == 401


def test_malformed_request_is_400_naming_the_field(client: TestClient) -> None:
    body = assessment()
    body["amount"] = "500"
    response = client.post("/v1/assessments", json=body, headers=TEST)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "amount"
