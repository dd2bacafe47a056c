from starlette.testclient import TestClient

from tests.fraud.conftest import LIVE, TEST, assessment, services_of

OTHER = {**TEST, "strongroom-marketplace": "mkt_otherother"}


def create(client: TestClient, predicate: str, headers: dict[str, str] = TEST) -> dict:  # type: ignore[type-arg]
    response = client.post("/v1/fraud/rules", json={"predicate": predicate}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def test_a_rule_is_created_listed_and_applied_to_the_next_assessment(client: TestClient) -> None:
    assert (
        client.post("/v1/assessments", json=assessment(), headers=TEST).json()["decision"]
        == "allow"
    )
    rule = create(client, "block if :amount: >= 500")
    assert (rule["action"], rule["enabled"], rule["livemode"]) == ("block", True, False)
    listing = client.get("/v1/fraud/rules", headers=TEST).json()
    assert [r["id"] for r in listing["data"]] == [rule["id"]]
    assert listing["ruleset_version"] == 1
    answer = client.post(
        "/v1/assessments", json=assessment(charge="ch_abcdefgh13"), headers=TEST
    ).json()
    assert answer["decision"] == "block"
    assert answer["rule"] == {
        "id": rule["id"],
        "action": "block",
        "predicate": "block if :amount: >= 500",
    }
    assert answer["ruleset_version"] == 1 and "clearance" not in answer


def test_an_invalid_rule_is_400_with_its_column(client: TestClient) -> None:
    response = client.post(
        "/v1/fraud/rules", json={"predicate": "block if :card_speed: > 3"}, headers=TEST
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["position"]) == (
        "rule_invalid",
        "predicate",
        {"column": 10},
    )
    assert "unknown attribute :card_speed:" in error["message"]
    missing = client.post(
        "/v1/fraud/rules", json={"predicate": "block if :email: in @nowhere"}, headers=TEST
    )
    assert missing.json()["error"]["position"] == {"column": 21}


def test_test_mode_live_mode_and_marketplaces_have_rules_of_their_own(client: TestClient) -> None:
    create(client, "block if :amount: > 0")
    assert client.get("/v1/fraud/rules", headers=LIVE).json()["data"] == []
    assert client.get("/v1/fraud/rules", headers=OTHER).json()["data"] == []
    live = client.post("/v1/assessments", json=assessment(), headers=LIVE).json()
    assert live["decision"] == "allow"


def test_update_disable_delete_are_versioned_with_who_did_it(client: TestClient) -> None:
    rule = create(client, "block if :amount: > 0")
    rid = rule["id"]
    actor = {**TEST, "strongroom-actor": "key:sk_test_...abcd"}
    updated = client.post(
        f"/v1/fraud/rules/{rid}", json={"predicate": "review if :amount: > 0"}, headers=actor
    ).json()
    assert updated["action"] == "review"
    client.post(f"/v1/fraud/rules/{rid}", json={"enabled": False}, headers=actor)
    answer = client.post("/v1/assessments", json=assessment(), headers=TEST).json()
    assert answer["decision"] == "allow"
    assert client.delete(f"/v1/fraud/rules/{rid}", headers=TEST).json()["deleted"] is True
    assert client.get(f"/v1/fraud/rules/{rid}", headers=TEST).status_code == 404
    history = client.get("/v1/fraud/rule_history", headers=TEST).json()["data"]
    assert [(c["version"], c["change"], c["actor"]) for c in history] == [
        (4, "deleted", "api"),
        (3, "disabled", "key:sk_test_...abcd"),
        (2, "updated", "key:sk_test_...abcd"),
        (1, "created", "api"),
    ]
    assert history[2]["predicate"] == "review if :amount: > 0"


def test_another_marketplaces_rule_does_not_exist(client: TestClient) -> None:
    rule = create(client, "block if :amount: > 0")
    assert client.get(f"/v1/fraud/rules/{rule['id']}", headers=OTHER).status_code == 404
    assert client.delete(f"/v1/fraud/rules/{rule['id']}", headers=LIVE).status_code == 404


def test_thresholds_are_per_marketplace_and_decide_by_score(client: TestClient) -> None:
    create(client, "score +40 if :amount: > 0")
    assert (
        client.post("/v1/assessments", json=assessment(), headers=TEST).json()["decision"]
        == "allow"
    )
    settings = client.post(
        "/v1/fraud/settings", json={"review_at": 30, "block_at": 90}, headers=TEST
    ).json()
    assert (settings["review_at"], settings["block_at"]) == (30, 90)
    answer = client.post(
        "/v1/assessments", json=assessment(charge="ch_abcdefgh99"), headers=TEST
    ).json()
    assert (answer["decision"], answer["score"], answer["risk_level"]) == ("review", 40, "elevated")
    bad = client.post("/v1/fraud/settings", json={"review_at": 80, "block_at": 70}, headers=TEST)
    assert bad.status_code == 400


def test_management_needs_a_marketplace_header(client: TestClient) -> None:
    response = client.get("/v1/fraud/rules", headers={"authorization": "Bearer cred-test"})
    assert response.status_code == 400


def test_saving_a_rule_answers_with_the_linters_warnings(client: TestClient) -> None:
    first = create(client, "block if :amount: > 0")
    assert first["warnings"] == []
    second = create(client, "review if :amount: > 0 and :livemode:")
    assert second["warnings"] == [
        f"shadowed by {first['id']} (block if :amount: > 0): it can never decide"
    ]
    create(client, "score +30 if :is_new_customer:")
    settings = client.post(
        "/v1/fraud/settings", json={"review_at": 20, "block_at": 60}, headers=TEST
    ).json()
    assert settings["warnings"] == ["block_at 60 is above the highest reachable score (30)"]
    client.post("/v1/assessments", json=assessment(), headers=TEST)
    services_of(client).assessor.decisions.flush()
    third = create(client, "review if :ip_country: = 'FR'")
    assert any(":ip_country: was missing" in w for w in third["warnings"])


def test_settings_change_only_what_is_given_and_null_restores_the_default(
    client: TestClient,
) -> None:
    url = "/v1/fraud/settings"
    fresh = client.get(url, headers=TEST).json()
    assert (fresh["review_timeout_seconds"], fresh["review_timeout_action"]) == (None, None)
    set_ = client.post(url, json={"review_timeout_seconds": 600}, headers=TEST).json()
    assert (set_["review_at"], set_["block_at"], set_["review_timeout_seconds"]) == (65, 75, 600)
    assert client.post(url, json={"review_at": 80}, headers=TEST).status_code == 400  # > 75
    assert client.post(url, json={"review_at": None}, headers=TEST).status_code == 400
    for bad in ({"review_timeout_seconds": 5}, {"review_timeout_action": "ignore"}):
        assert client.post(url, json=bad, headers=TEST).status_code == 400
    back = client.post(url, json={"review_timeout_seconds": None}, headers=TEST).json()
    assert back["review_timeout_seconds"] is None
    history = client.get("/v1/fraud/rule_history", headers=TEST).json()["data"]
    assert [c["predicate"] for c in history if c["change"] == "settings"] == [
        "review_timeout_seconds=None",
        "review_timeout_seconds=600",
    ]
    assert client.get(url, headers=LIVE).json()["review_timeout_seconds"] is None
