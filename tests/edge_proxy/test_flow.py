from edge_proxy.flow import EdgeRequest, EdgeResponse


def test_header_lookups_are_case_blind_and_keep_repeats():
    request = EdgeRequest("GET", "/", b"/", headers=[(b"X-A", b"1"), (b"x-a", b"2")])
    assert request.header_values("x-A") == ["1", "2"] and request.header("X-a") == "1"
    assert request.header("missing") is None


def test_the_index_follows_the_headers_when_they_change():
    response = EdgeResponse(200, [(b"content-type", b"text/plain")])
    assert response.header("x-request-id") is None
    response.headers.append((b"x-request-id", b"req_1"))
    assert response.header("x-request-id") == "req_1"
    response.headers = [(b"content-type", b"application/json")]
    assert response.header("content-type") == "application/json"
