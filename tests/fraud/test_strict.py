"""Every fraud route reads its input strictly: what it does not take is a 400, not ignored."""

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.fraud.conftest import TEST, assessment

GETS = [
    "/v1/fraud/rules",
    "/v1/fraud/rule_history",
    "/v1/fraud/rules/rul_abcdefgh",
    "/v1/fraud/settings",
    "/v1/fraud/value_lists",
    "/v1/fraud/value_lists/rsl_abcdefgh",
    "/v1/fraud/rulesets",
    "/v1/fraud/rulesets/rsd_abcdefgh",
    "/v1/fraud/rulesets/rsd_abcdefgh/shadow",
    "/healthz",
    "/metrics",
]


@pytest.mark.parametrize("path", GETS)
def test_a_get_with_an_unknown_query_parameter_is_400_naming_it(
    client: TestClient, path: str
) -> None:
    answer = client.get(path, params={"limit": "5"}, headers=TEST)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("parameter_unknown", "limit")


def test_a_query_string_on_a_post_or_a_body_on_a_delete_is_refused(client: TestClient) -> None:
    post = client.post("/v1/assessments?debug=1", json=assessment(), headers=TEST)
    assert (post.status_code, post.json()["error"]["param"]) == (400, "debug")
    delete = client.request("DELETE", "/v1/fraud/rules/rul_abcdefgh", content=b"{}", headers=TEST)
    assert (delete.status_code, delete.json()["error"]["code"]) == (400, "body_unexpected")
    bad = client.get("/v1/fraud/rules?a=%ff", headers=TEST)
    assert bad.status_code == 400


BODIES: dict[str, dict[str, Any]] = {
    "/v1/assessments": assessment(),
    "/v1/approvals": {
        "charge_id": "ch_abcdefgh12",
        "marketplace": "mkt_abcdefgh",
        "card": "card_abcdefgh",
        "amount": 500,
        "currency": "usd",
    },
    "/v1/fraud/rules": {"predicate": "block if :amount: > 5"},
    "/v1/fraud/settings": {"review_at": 50},
    "/v1/fraud/value_lists": {"alias": "vips", "name": "VIPs", "item_type": "email"},
    "/v1/fraud/rulesets": {"name": "draft", "rules": ["block if :amount: > 5"]},
}
NUMBERS = {
    "/v1/assessments": "amount",
    "/v1/approvals": "amount",
    "/v1/fraud/settings": "review_at",
}


@pytest.mark.parametrize("path", sorted(BODIES))
def test_every_post_refuses_unknown_fields_and_duplicate_keys(
    client: TestClient, path: str
) -> None:
    unknown = client.post(path, json={**BODIES[path], "surprise": 1}, headers=TEST)
    assert unknown.status_code == 400, unknown.text
    raw = client.post(
        path,
        content=b'{"a": 1, "a": 2}',
        headers={**TEST, "content-type": "application/json"},
    )
    assert (raw.status_code, raw.json()["error"]["code"]) == (400, "invalid_json")


@pytest.mark.parametrize("path", sorted(NUMBERS))
def test_numbers_are_json_numbers_never_strings_of_any_script_or_booleans(
    client: TestClient, path: str
) -> None:
    field = NUMBERS[path]
    for wrong in ("٥٠", "50", True, 50.5):
        answer = client.post(path, json={**BODIES[path], field: wrong}, headers=TEST)
        assert answer.status_code == 400, (wrong, answer.text)
