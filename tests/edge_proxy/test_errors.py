from edge_proxy.errors import EdgeError, PanDetected, UpstreamUnavailable, reason


def test_envelope_has_param_only_when_known():
    assert UpstreamUnavailable().body() == {
        "error": {
            "type": "api_error",
            "code": "upstream_unavailable",
            "message": UpstreamUnavailable.message,
        }
    }
    body = PanDetected(param="query").body()["error"]
    assert (body["type"], body["code"], body["param"]) == (
        "sensitive_data",
        "pan_detected",
        "query",
    )
    assert "POST /v1/cards" in body["message"]


def test_reason_names_code_and_place():
    assert reason(PanDetected(param="header:cookie")) == "pan_detected:header:cookie"
    assert reason(EdgeError("x")) == "invalid_request"
