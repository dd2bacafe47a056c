"""The edge end to end over a real socket; its upstreams a recording transport."""

import gzip
import json
import threading
import time
from collections.abc import Iterator

import httpx

from tests.edge_proxy.conftest import Upstreams, reply, running_edge

TEXT = {"content-type": "text/plain"}
JSON = {"content-type": "application/json"}
JSON_TYPE = JSON
FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}
CARD_BODY = b'{"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}'


def test_cards_go_to_the_vault_with_the_body_untouched(edge: httpx.Client, upstreams: Upstreams):
    upstreams.replies["vault"] = reply(201, b'{"id": "card_1", "last4": "4242"}')
    response = edge.post(
        "/v1/cards",
        content=CARD_BODY,
        headers={"content-type": "application/json", "authorization": "Bearer pk_test_x"},
    )
    assert response.status_code == 201
    assert response.json() == {"id": "card_1", "last4": "4242"}
    seen = upstreams.only()
    assert str(seen.url) == "http://vault.internal:8084/v1/cards"
    assert seen.content == CARD_BODY
    assert seen.headers["authorization"] == "Bearer pk_test_x"


def test_the_vault_gets_its_own_path_however_it_was_spelled(edge, upstreams):
    assert edge.post("/v1/%63ards?expand=x", content=CARD_BODY).status_code == 200
    assert upstreams.only().url.raw_path == b"/v1/cards?expand=x"


def test_tokens_go_to_the_vault_on_their_own_path(edge, upstreams):
    form = b"card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2031"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert edge.post("/v1/%74okens", content=form, headers=headers).status_code == 200
    seen = upstreams.only()
    assert (seen.url.raw_path, seen.content) == (b"/v1/tokens", form)


def test_vault_responses_are_not_scanned(edge, upstreams):
    upstreams.replies["vault"] = reply(200, b'{"echo": "4242424242424242"}')
    assert edge.post("/v1/cards", content=CARD_BODY).status_code == 200


def test_other_api_paths_go_to_the_router_byte_for_byte(edge, upstreams):
    body = b'{"card": "card_1a2b", "amount": 1999, "currency": "usd"}'
    response = edge.post(
        "/v1/charges/ch_1/capture?expand[]=fraud&limit=10",
        content=body,
        headers={"content-type": "application/json", "idempotency-key": "k1"},
    )
    assert response.status_code == 200 and response.content == body
    seen = upstreams.only()
    assert seen.url.raw_path == response.request.url.raw_path  # path and query as sent
    assert seen.url.host == "router.internal"
    assert seen.content == body and seen.headers["idempotency-key"] == "k1"


def test_a_pan_bound_for_the_router_is_refused_and_not_forwarded(edge, upstreams):
    response = edge.post("/v1/charges", json={"card": "4242424242424242", "amount": 100})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "sensitive_data",
        "pan_detected",
        "body",
    )
    assert "POST /v1/cards" in error["message"]
    assert upstreams.seen == []


def test_a_pan_in_the_url_of_the_cards_path_is_refused(edge, upstreams):
    response = edge.post("/v1/cards?number=4242424242424242", content=CARD_BODY)
    assert response.status_code == 400 and response.json()["error"]["param"] == "query"
    assert upstreams.seen == []


def test_size_limit_applies_to_both_upstreams(edge, upstreams):
    big = b"x" * ((1 << 20) + 1)
    for path in ("/v1/cards", "/v1/charges"):
        response = edge.post(path, content=big)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"
    assert upstreams.seen == []


def test_a_chunked_body_over_the_limit_is_refused(edge, upstreams):
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"0" * 65536

    response = edge.post("/v1/charges", content=chunks())
    assert response.status_code == 413
    assert upstreams.seen == []


def test_compressed_bodies_for_the_vault_are_refused(edge, upstreams):
    response = edge.post("/v1/cards", content=b"\x1f\x8b", headers={"content-encoding": "gzip"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_content_encoding"
    assert upstreams.seen == []


def test_compressed_bodies_for_the_router_are_inspected_and_forwarded_decoded(edge, upstreams):
    upstreams.replies["router"] = reply(200, b"{}")
    clean = gzip.compress(b'{"amount": 100}')
    for coding in ("gzip", "GZIP", "gzip ,identity", "x-gzip", "identity ,\tGzip"):
        headers = {"content-encoding": coding, "content-type": "application/json"}
        assert edge.post("/v1/charges", content=clean, headers=headers).status_code == 200
        forwarded = upstreams.only()
        assert forwarded.content == b'{"amount": 100}'  # the bytes inspected, not those sent
        assert "content-encoding" not in forwarded.headers
        assert forwarded.headers["content-length"] == "15"
        upstreams.seen.clear()
    upstreams.seen.clear()
    card = gzip.compress(b'{"memo": "4242 4242 4242 4242"}')
    response = edge.post("/v1/charges", content=card, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "pan_detected"
    for sent, coding, status in ((b"\x1f\x8b", "gzip", 400), (clean, "zstd", 415)):
        response = edge.post("/v1/charges", content=sent, headers={"content-encoding": coding})
        assert response.status_code == status
    bomb = gzip.compress(b"0" * (5 << 20))
    response = edge.post("/v1/charges", content=bomb, headers={"content-encoding": "gzip"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large_to_inspect"
    assert upstreams.seen == []


def test_bodies_the_api_reads_otherwise_are_refused(edge, upstreams):
    # The API reads JSON and forms in UTF-8 only: anything else would be read one way by
    # the edge and another by the API, so it is refused, whatever it holds.
    for content_type, body in (
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; name=x"),
        ("text/plain", b'{"memo": "\\u0034\\u0032"}'),
        ("application/octet-stream", b'{"a": 1}'),
        ("application/json; charset=shift_jis_2004", b'{"a": 1}'),
        ("application/json; charset=hz", b'{"a": 1}'),
        ("application/json; charset=utf-16", '{"a": 1}'.encode("utf-16")),
    ):
        response = edge.post("/v1/notes", content=body, headers={"content-type": content_type})
        assert response.status_code == 415, content_type
        assert response.json()["error"]["code"] == "unsupported_media_type"
    response = edge.post("/v1/notes", content=b'{"a": 1}', headers={"content-type": ""})
    assert response.status_code == 415
    response = edge.post("/v1/notes", content=b"\xff\xfe", headers=JSON_TYPE)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert upstreams.seen == []


def test_unknown_host_is_misdirected(edge, upstreams):
    response = edge.get("/v1/charges", headers={"host": "evil.example"})
    assert response.status_code == 421
    assert response.json()["error"]["code"] == "misdirected_request"
    assert upstreams.seen == []


def test_js_host_is_not_found_for_now(edge, upstreams):
    for path in ("/strongroom.js", "/v1/cards"):
        response = edge.get(path, headers={"host": "js.localhost:8080"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert upstreams.seen == []


def test_healthz_is_answered_on_any_host(edge, upstreams):
    for host in ("api.localhost", "js.localhost", "nobody.example"):
        response = edge.get("/healthz", headers={"host": host})
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "service": "edge_proxy"}
    assert upstreams.seen == []


def test_request_id_is_generated_and_sent_both_ways(edge, upstreams):
    response = edge.get("/v1/charges")
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_")
    assert upstreams.only().headers["x-request-id"] == request_id


def test_a_valid_request_id_is_passed_on_and_an_invalid_one_replaced(edge, upstreams):
    response = edge.get("/v1/charges", headers={"x-request-id": "client-id-12345"})
    assert response.headers["x-request-id"] == "client-id-12345"
    assert upstreams.seen[-1].headers["x-request-id"] == "client-id-12345"
    response = edge.get("/v1/charges", headers={"x-request-id": "bad id"})
    assert response.headers["x-request-id"].startswith("req_")


def test_forwarded_headers_are_set_by_the_edge(edge, upstreams):
    edge.get(
        "/v1/charges",
        headers={"host": "api.localhost:8080", "x-forwarded-for": "198.51.100.9"},
    )
    seen = upstreams.only()
    assert seen.headers["x-forwarded-for"] == "127.0.0.1"
    assert seen.headers["x-forwarded-host"] == "api.localhost:8080"
    assert seen.headers["accept-encoding"] == "identity"


def test_response_headers_pass_with_repeats(edge, upstreams):
    upstreams.replies["router"] = reply(
        201,
        b"{}",
        [("content-type", "application/json"), ("set-cookie", "a=1"), ("set-cookie", "b=2")],
    )
    response = edge.post("/v1/customers", json={})
    assert response.status_code == 201
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_a_pan_in_a_router_response_becomes_502(edge, upstreams):
    leak = json.dumps({"id": "card_1", "number": "4000 0000 0000 0002"}).encode()
    upstreams.replies["router"] = reply(200, leak)
    response = edge.get("/v1/cards/card_1")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "sensitive_data_in_response"
    assert b"0002" not in response.content


def test_a_compressed_router_response_is_inspected_or_withheld(edge, upstreams):
    upstreams.replies["router"] = reply(200, b"\x1f\x8b", [("content-encoding", "gzip")])
    response = edge.get("/v1/charges")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "unreadable_response"
    leak = gzip.compress(b'{"leak": "4242424242424242"}')
    upstreams.replies["router"] = reply(200, leak, [("content-encoding", "gzip")])
    assert edge.get("/v1/charges").json()["error"]["code"] == "sensitive_data_in_response"
    clean = gzip.compress(b'{"id": "ch_1"}')
    upstreams.replies["router"] = reply(
        200, clean, [("content-encoding", "gzip"), ("content-type", "application/json")]
    )
    response = edge.get("/v1/charges")
    assert response.status_code == 200 and response.json() == {"id": "ch_1"}


def test_upstream_errors_pass_through(edge, upstreams):
    upstreams.replies["router"] = reply(404, b'{"error": {"code": "resource_missing"}}')
    assert edge.get("/v1/charges/ch_x").status_code == 404


def test_head_keeps_the_upstream_length(edge, upstreams):
    upstreams.replies["router"] = reply(200, b"", [("content-length", "42")])
    response = edge.head("/v1/charges")
    assert response.status_code == 200 and response.headers["content-length"] == "42"


def test_trace_is_not_forwarded(edge, upstreams):
    response = edge.request("TRACE", "/v1/charges")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert upstreams.seen == []


def test_bodiless_statuses_get_no_invented_length(edge, upstreams):
    upstreams.replies["router"] = reply(204, b"", [])
    response = edge.delete("/v1/customers/cus_1")
    assert response.status_code == 204 and response.content == b""
    upstreams.replies["router"] = reply(304, b"", [("etag", '"v1"')])
    response = edge.get("/v1/customers/cus_1")
    assert response.status_code == 304 and response.headers["etag"] == '"v1"'


def test_a_slow_body_scan_does_not_stall_other_requests(edge, upstreams):
    slow = b"3 " * (1 << 19)  # 1 MiB of one-digit groups: the detector's worst case
    upstreams.replies["router"] = reply(200, b"{}")
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(
            edge.post("/v1/notes", content=slow, headers=FORM_TYPE).status_code
        )
    )
    worker.start()
    time.sleep(0.05)
    started = time.monotonic()
    assert edge.get("/healthz").status_code == 200
    assert time.monotonic() - started < 1.5 or not worker.is_alive()
    worker.join(30)
    assert result in ([200], [413])  # passed, or refused once its time budget was spent


def test_a_body_that_takes_too_long_to_inspect_is_refused(upstreams):
    slow = b"3 " * (1 << 19)
    with running_edge(upstreams, max_inspect_seconds=0.05) as edge:
        response = edge.post("/v1/notes", content=slow, headers=FORM_TYPE)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_complex_to_inspect"
        assert edge.post("/v1/notes", content=b"note=short", headers=FORM_TYPE).status_code == 200
    assert len(upstreams.seen) == 1


def test_large_bodies_take_the_fast_path_on_the_loop_and_the_exact_one_off_it(edge, upstreams):
    upstreams.replies["router"] = reply(200, b"{}")
    items = {f"ch_{i:06d}": {"amount": i, "note": "a fine book"} for i in range(2500)}
    clean = json.dumps(items).encode()
    assert len(clean) > 64 * 1024
    assert edge.post("/v1/charges", content=clean, headers=JSON).status_code == 200
    leaked = json.dumps({**items, "memo": "4242 4242 4242 4242"}).encode()
    response = edge.post("/v1/charges", content=leaked, headers=JSON)
    assert response.status_code == 400 and response.json()["error"]["param"] == "body"
    assert len(upstreams.seen) == 1
