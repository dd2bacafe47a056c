"""CORS on /v1/cards only: checkout pages on other origins tokenise; nothing else opens."""

from tests.edge_proxy.conftest import reply

PREFLIGHT = {
    "origin": "http://shop.example",
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type",
}


def test_the_preflight_of_cards_is_answered_by_the_edge(edge, upstreams):
    response = edge.options("/v1/cards", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "POST"
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert allowed == {"authorization", "content-type"}
    assert response.headers["x-request-id"]
    assert upstreams.seen == []


def test_the_vaults_answers_are_readable_cross_origin(edge, upstreams):
    upstreams.replies["vault"] = reply(402, b'{"error": {"code": "invalid_cvc"}}')
    response = edge.post("/v1/cards", json={}, headers={"origin": "http://shop.example"})
    assert response.status_code == 402
    assert response.headers["access-control-allow-origin"] == "*"


def test_the_edges_own_refusals_of_cards_are_readable_too(edge, upstreams):
    response = edge.post("/v1/cards", content=b"{}", headers={"content-encoding": "zstd"})
    assert response.status_code == 415
    assert response.headers["access-control-allow-origin"] == "*"
    assert upstreams.seen == []


def test_other_api_paths_stay_same_origin(edge, upstreams):
    preflight = edge.options("/v1/charges", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers
    response = edge.get("/v1/charges", headers={"origin": "http://shop.example"})
    assert "access-control-allow-origin" not in response.headers
    assert (
        edge.options("/v1/cards/", headers=PREFLIGHT).headers.get("access-control-allow-origin")
        is None
    )


def test_cards_on_a_host_that_is_not_an_api_host_gets_no_cors(edge, upstreams):
    response = edge.options("/v1/cards", headers={**PREFLIGHT, "host": "elsewhere.example"})
    assert response.status_code == 421
    assert "access-control-allow-origin" not in response.headers


def test_an_options_request_that_is_not_a_preflight_goes_to_the_vault(edge, upstreams):
    edge.options("/v1/cards")
    assert upstreams.only().method == "OPTIONS"
