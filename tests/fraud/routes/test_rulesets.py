from starlette.testclient import TestClient

from tests.fraud.conftest import TEST, assessment, services_of


def test_a_draft_in_shadow_decides_nothing_and_its_differences_are_summarised(
    client: TestClient,
) -> None:
    draft = client.post(
        "/v1/fraud/rulesets",
        json={"name": "stricter", "rules": ["block if :amount: >= 1000"], "shadow": True},
        headers=TEST,
    )
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["id"]
    answers = [
        client.post(
            "/v1/assessments",
            json={**assessment(charge=f"ch_shadowtest{i:02d}"), "amount": amount},
            headers=TEST,
        ).json()["decision"]
        for i, amount in enumerate([500, 1500, 2500])
    ]
    assert answers == ["allow", "allow", "allow"]  # the draft decided nothing
    services_of(client).assessor.decisions.flush()
    summary = client.get(f"/v1/fraud/rulesets/{draft_id}/shadow", headers=TEST).json()
    assert (summary["charges"], summary["differing"]) == (3, 2)
    assert summary["by_decision"] == [
        {"live": "allow", "shadow": "allow", "count": 1},
        {"live": "allow", "shadow": "block", "count": 2},
    ]
    assert summary["examples"] == ["ch_shadowtest01", "ch_shadowtest02"]
    stopped = client.post(f"/v1/fraud/rulesets/{draft_id}", json={"shadow": False}, headers=TEST)
    assert stopped.json()["shadow"] is False
    client.post("/v1/assessments", json=assessment(charge="ch_shadowtest09"), headers=TEST)
    services_of(client).assessor.decisions.flush()
    after = client.get(f"/v1/fraud/rulesets/{draft_id}/shadow", headers=TEST).json()
    assert after["charges"] == 3


def test_a_draft_rule_is_checked_like_a_live_one(client: TestClient) -> None:
    response = client.post(
        "/v1/fraud/rulesets",
        json={"name": "broken", "rules": ["block if :nope: > 1"]},
        headers=TEST,
    )
    assert (response.status_code, response.json()["error"]["position"]) == (400, {"column": 10})
