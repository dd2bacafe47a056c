"""POST /v1/assessments is a plain ASGI endpoint: the same answers and error shapes as
the app's function endpoints, through the same exception handlers."""

import json

from starlette.testclient import TestClient

from tests.fraud.conftest import LIVE, TEST, assessment


def test_an_answer_is_json_with_its_length(client: TestClient) -> None:
    response = client.post("/v1/assessments", json=assessment(), headers=TEST)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.json()["decision"] == "allow"


def test_an_unknown_credential_is_the_services_401(client: TestClient) -> None:
    refused = client.post(
        "/v1/assessments", json=assessment(), headers={"authorization": "Bearer nope"}
    )
    assert refused.status_code == 401
    assert refused.json() == {
        "error": {
            "type": "authentication_error",
            "code": "invalid_credential",
            "message": "Unknown service credential.",
        }
    }


def test_an_unreadable_or_empty_body_is_400(client: TestClient) -> None:
    broken = client.post(
        "/v1/assessments", content=b"{", headers={**LIVE, "content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["type"] == "invalid_request_error"
    empty = client.post("/v1/assessments", headers=LIVE)
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "parameter_missing"


def test_only_json_sent_as_it_is_under_bearer_is_read(client: TestClient) -> None:
    good = assessment()
    for headers, status, code in [
        ({**LIVE, "content-type": "text/plain"}, 415, "unsupported_media_type"),
        ({**LIVE, "content-type": "application/json", "content-encoding": "gzip"}, 415,
         "unsupported_content_encoding"),
        ({"authorization": LIVE["authorization"].removeprefix("Bearer ")}, 401,
         "invalid_credential"),
    ]:  # fmt: skip
        refused = client.post("/v1/assessments", content=json.dumps(good), headers=headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
    # Sent twice: a reader of the first and one of the last would read two bodies.
    labelled = [*LIVE.items(), ("content-type", "application/json")]
    for twice in (
        [*labelled, ("content-type", "application/json")],
        [*labelled, ("content-encoding", "identity"), ("content-encoding", "identity")],
    ):
        refused = client.post("/v1/assessments", content=json.dumps(good), headers=twice)
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            415,
            "unsupported_media_type",
        )


def test_only_post_is_served(client: TestClient) -> None:
    refused = client.get("/v1/assessments", headers=LIVE)
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    assert refused.json()["error"]["code"] == "method_not_allowed"
