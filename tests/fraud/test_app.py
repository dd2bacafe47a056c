import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from fraud.app import create_app
from fraud.config import Settings
from fraud.counters import MemoryCounters

KEY = Ed25519PrivateKey.generate()
SETTINGS = Settings(
    test_credential="cred-test",
    live_credential="cred-live",
    signing_key=base64.b64encode(KEY.private_bytes_raw()).decode(),
)


def request(
    bin: str = "424242", last4: str = "4242", charge: str = "ch_abcdefgh12"
) -> dict[str, object]:
    card = {
        "id": "card_abcdefgh",
        "brand": "visa",
        "bin": bin,
        "last4": last4,
        "fingerprint": "fp1",
    }
    return {
        "charge_id": charge,
        "marketplace": "mkt_abcdefgh",
        "amount": 500,
        "currency": "usd",
        "card": card,
    }


def client() -> TestClient:
    return TestClient(create_app(SETTINGS, MemoryCounters()))


def test_allow_comes_with_a_clearance_bound_to_the_callers_mode() -> None:
    response = client().post(
        "/v1/assessments", json=request(), headers={"authorization": "Bearer cred-live"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "allow"
    payload = json.loads(base64.urlsafe_b64decode(body["clearance"]["payload"] + "=="))
    assert payload["livemode"] is True
    # The card as scored: the vault checks these against the card's record.
    assert (payload["bin"], payload["last4"], payload["fingerprint"]) == ("424242", "4242", "fp1")


def test_block_and_review_carry_no_clearance() -> None:
    c = client()
    auth = {"authorization": "Bearer cred-test"}
    blocked = c.post("/v1/assessments", json=request("410000", "0019"), headers=auth).json()
    review = c.post("/v1/assessments", json=request("400000", "4954"), headers=auth).json()
    assert (blocked["decision"], review["decision"]) == ("block", "review")
    assert "clearance" not in blocked and "clearance" not in review


def test_unknown_credential_is_refused() -> None:
    response = client().post(
        "/v1/assessments", json=request(), headers={"authorization": "Bearer nope"}
    )
    assert response.status_code == 401


def test_malformed_request_is_400_naming_the_field() -> None:
    body = request()
    body["amount"] = "500"
    response = client().post(
        "/v1/assessments", json=body, headers={"authorization": "Bearer cred-test"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "amount"
