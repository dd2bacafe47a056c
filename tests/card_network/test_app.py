import datetime as dt
from pathlib import Path

from starlette.testclient import TestClient

from card_network.app import create_app
from card_network.config import Settings
from strongroom.testcards import generated_card

AUTH = {"authorization": "Bearer net-cred"}


def message(pan: str, **changes: object) -> dict[str, object]:
    year = dt.date.today().year + 2
    base = {
        "reference": "ch_1",
        "merchant": "mkt_1",
        "pan": pan,
        "exp_month": 1,
        "exp_year": year,
        "cvc": "123",
        "amount": 100,
        "currency": "usd",
    }
    return {**base, **changes}


def test_authorises_and_records_without_the_number(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(credential="net-cred", data_dir=tmp_path)))
    pan = generated_card()
    answer = client.post("/v1/authorizations", json=message(pan), headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["approved"] is True
    record = client.get("/v1/messages", headers=AUTH).json()["data"]
    assert [(m["reference"], m["bin"], m["last4"], m["cvc_present"]) for m in record] == [
        ("ch_1", pan[:6], pan[-4:], True)
    ]
    assert pan not in client.get("/v1/messages", headers=AUTH).text
    assert pan.encode() not in (tmp_path / "card_network" / "messages.jsonl").read_bytes()


def test_declines_expired_cards_and_amounts_over_the_issuer_limit(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(credential="net-cred", data_dir=tmp_path)))
    expired = client.post(
        "/v1/authorizations", json=message(generated_card(), exp_year=2001), headers=AUTH
    )
    large = client.post(
        "/v1/authorizations", json=message(generated_card(), amount=5_000_001), headers=AUTH
    )
    assert (expired.json()["code"], large.json()["code"]) == ("expired_card", "insufficient_funds")


def test_wrong_credential_is_refused_and_not_recorded(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(credential="net-cred", data_dir=tmp_path)))
    response = client.post(
        "/v1/authorizations", json=message(generated_card()), headers={"authorization": "Bearer x"}
    )
    assert response.status_code == 401
    assert client.get("/v1/messages", headers=AUTH).json()["data"] == []
