from starlette.testclient import TestClient

from tests.fraud.conftest import TEST, assessment


def lists(client: TestClient) -> dict[str, dict]:  # type: ignore[type-arg]
    data = client.get("/v1/fraud/value_lists", headers=TEST).json()["data"]
    return {row["alias"]: row for row in data}


def test_the_default_lists_exist_for_every_marketplace(client: TestClient) -> None:
    found = lists(client)
    assert {a: found[a]["item_type"] for a in found} == {
        "blocked_cards": "card_fingerprint",
        "trusted_cards": "card_fingerprint",
        "blocked_emails": "email",
        "blocked_ips": "ip_address",
    }


def test_a_listed_card_is_blocked_by_a_rule_naming_the_list(client: TestClient) -> None:
    blocked = lists(client)["blocked_cards"]["id"]
    rule = client.post(
        "/v1/fraud/rules",
        json={"predicate": "block if :card_fingerprint: in @blocked_cards"},
        headers=TEST,
    ).json()
    assert (
        client.post("/v1/assessments", json=assessment(), headers=TEST).json()["decision"]
        == "allow"
    )
    item = client.post(
        "/v1/fraud/value_list_items", json={"value_list": blocked, "value": "fp1"}, headers=TEST
    )
    assert item.status_code == 201
    answer = client.post(
        "/v1/assessments", json=assessment(charge="ch_abcdefgh77"), headers=TEST
    ).json()
    assert (answer["decision"], answer["rule"]["id"]) == ("block", rule["id"])
    client.delete(f"/v1/fraud/value_list_items/{item.json()['id']}", headers=TEST)
    again = client.post(
        "/v1/assessments", json=assessment(charge="ch_abcdefgh78"), headers=TEST
    ).json()
    assert again["decision"] == "allow"


def test_emails_and_ips_are_normalised_as_attributes_carry_them(client: TestClient) -> None:
    found = lists(client)
    client.post(
        "/v1/fraud/value_list_items",
        json={"value_list": found["blocked_emails"]["id"], "value": " Fraud@Example.TEST "},
        headers=TEST,
    )
    bad_ip = client.post(
        "/v1/fraud/value_list_items",
        json={"value_list": found["blocked_ips"]["id"], "value": "10.0.0.300"},
        headers=TEST,
    )
    assert bad_ip.status_code == 400
    client.post(
        "/v1/fraud/rules",
        json={"predicate": "block if :email: in @blocked_emails"},
        headers=TEST,
    )
    answer = client.post(
        "/v1/assessments", json=assessment(email="fraud@example.test"), headers=TEST
    ).json()
    assert answer["decision"] == "block"


def test_a_list_in_use_cannot_be_deleted_and_a_new_one_can_be(client: TestClient) -> None:
    created = client.post(
        "/v1/fraud/value_lists",
        json={"alias": "risky_bins", "name": "Risky BINs", "item_type": "card_bin"},
        headers=TEST,
    )
    assert created.status_code == 201
    list_id = created.json()["id"]
    taken = client.post(
        "/v1/fraud/value_lists",
        json={"alias": "risky_bins", "name": "again", "item_type": "card_bin"},
        headers=TEST,
    )
    assert taken.status_code == 409
    client.post(
        "/v1/fraud/rules", json={"predicate": "review if :card_bin: in @risky_bins"}, headers=TEST
    )
    refused = client.delete(f"/v1/fraud/value_lists/{list_id}", headers=TEST)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "value_list_in_use")
    unused = client.post(
        "/v1/fraud/value_lists",
        json={"alias": "spare", "name": "Spare", "item_type": "string"},
        headers=TEST,
    ).json()
    assert client.delete(f"/v1/fraud/value_lists/{unused['id']}", headers=TEST).status_code == 200
    assert "spare" not in lists(client)
